"""A light check of PromQL: it tokenises, its brackets and quotes balance, every function and aggregation is one
Prometheus knows, and every ``consumerkit_*`` series and label it names exists in a real scrape (``scrape.py``).

Not a full parser: it catches the mistakes docs make (a renamed metric, a suffix prometheus_client does not
expose, a typo in a label or a function, an unclosed bracket), not every expression Prometheus would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tests.docs.blocks import words
from tests.docs.scrape import TARGET_LABELS, Scrape

AGGREGATIONS = words("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio")
FUNCTIONS = words(
    "abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week "
    "day_of_year days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction "
    "histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase "
    "irate label_join label_replace ln log2 log10 minute month predict_linear rate resets round scalar "
    "sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector year avg_over_time "
    "min_over_time max_over_time sum_over_time count_over_time quantile_over_time stddev_over_time "
    "stdvar_over_time last_over_time present_over_time mad_over_time acos acosh asin asinh atan atanh cos "
    "cosh sin sinh tan tanh deg rad pi"
)
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = LABEL_LISTS | {"bool", "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end"}
TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    |(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    |(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*)
    |(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<op>=~|!~|==|!=|>=|<=|[-+*/%^=<>,@:(){}\[\]])""",
    re.VERBOSE,
)
PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokens(query: str) -> list[Token]:
    found, at = [], 0
    while at < len(query):
        match = TOKEN.match(query, at)
        if match is None:
            raise ValueError(f"unexpected character {query[at]!r} at offset {at}")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append(Token(kind, match.group()))
        at = match.end()
    return found


def problems(query: str, scrape: Scrape) -> list[str]:
    """What is wrong with ``query``, in words; empty if nothing is."""
    try:
        toks = tokens(query)
    except ValueError as error:
        return [str(error)]
    found = _balance(toks)
    series = list(_series(toks))
    for name, selector_labels in series:
        if name.startswith("consumerkit_") and not scrape.has(name):
            found.append(f"{name}: no such series in a worker's /metrics")
            continue
        unknown = selector_labels - scrape.labels.get(name, frozenset()) - TARGET_LABELS
        if name.startswith("consumerkit_") and unknown:
            found.append(f"{name}: no label {', '.join(sorted(unknown))} (it has {sorted(scrape.labels[name])})")
    found += _unknown_calls(toks)
    found += _grouping_labels(toks, [name for name, _ in series], scrape)
    return found


def _balance(toks: list[Token]) -> list[str]:
    stack: list[str] = []
    for tok in toks:
        if tok.text in "([{" and tok.kind == "op":
            stack.append(tok.text)
        elif tok.text in PAIRS and tok.kind == "op" and (not stack or stack.pop() != PAIRS[tok.text]):
            return [f"unbalanced {tok.text!r}"]
    return [f"unclosed {opened!r}" for opened in stack]


def _series(toks: list[Token]) -> Iterator[tuple[str, frozenset[str]]]:
    """Each metric name with the label names of its ``{...}`` selector."""
    depth_braces = 0
    in_range = 0
    for i, tok in enumerate(toks):
        if tok.kind == "op":
            depth_braces += {"{": 1, "}": -1}.get(tok.text, 0)
            in_range += {"[": 1, "]": -1}.get(tok.text, 0)
            continue
        if tok.kind != "name" or depth_braces or in_range or tok.text in KEYWORDS | AGGREGATIONS:
            continue  # `sum by (queue) (...)`: the aggregation is not followed by its bracket
        if _in_label_list(toks, i):
            continue
        if i + 1 < len(toks) and toks[i + 1].text == "(":
            continue  # a call
        yield tok.text, frozenset(_selector_labels(toks, i + 1))


def _selector_labels(toks: list[Token], at: int) -> Iterator[str]:
    if at >= len(toks) or toks[at].text != "{":
        return
    for i in range(at + 1, len(toks)):
        if toks[i].text == "}":
            return
        if toks[i].kind == "name" and i + 1 < len(toks) and toks[i + 1].text in ("=", "!=", "=~", "!~"):
            yield toks[i].text


def _in_label_list(toks: list[Token], at: int) -> bool:
    """Whether ``toks[at]`` sits inside ``by (...)``, ``on (...)`` and the like."""
    depth = 0
    for i in range(at - 1, -1, -1):
        text = toks[i].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                return i > 0 and toks[i - 1].text in LABEL_LISTS
            depth -= 1
    return False


def _unknown_calls(toks: list[Token]) -> list[str]:
    found = []
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "name" and toks[i + 1].text == "(" and tok.text not in LABEL_LISTS | AGGREGATIONS | FUNCTIONS:
            found.append(f"{tok.text}(): not a PromQL function or aggregation")
    return found


def _grouping_labels(toks: list[Token], names: list[str], scrape: Scrape) -> list[str]:
    """Labels in ``by``/``on``/... lists must be carried by some series the query reads (or by Prometheus)."""
    ours = [n for n in names if n.startswith("consumerkit_") and scrape.has(n)]
    if not ours or len(ours) != len(names):
        return []  # a query over other series (process_*, up) may group by their labels: not ours to judge
    known = set(TARGET_LABELS).union(*(scrape.labels[n] for n in ours))
    found = []
    for i, tok in enumerate(toks):
        if tok.kind == "name" and _in_label_list(toks, i) and tok.text not in known:
            found.append(f"grouping label {tok.text!r} is on none of {sorted(set(ours))}")
    return found

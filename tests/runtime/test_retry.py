"""Back-off policies are pure functions of the receive count, bounded by SQS's 12-hour visibility."""

from __future__ import annotations

import random

import pytest

from consumerkit import ConfigError, ExponentialBackoff, FixedBackoff


def test_exponential_doubles_from_its_base_up_to_its_maximum() -> None:
    policy = ExponentialBackoff(base=5, factor=2, maximum=60, jitter=False)
    assert [policy.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_jitter_draws_from_the_upper_half() -> None:
    policy = ExponentialBackoff(base=10, factor=2, maximum=900, rng=random.Random(7))
    delays = [policy.delay(3) for _ in range(200)]  # ceiling 40
    assert all(20 <= d <= 40 for d in delays)
    assert len(set(delays)) > 5


def test_a_huge_receive_count_stays_at_the_maximum() -> None:
    assert ExponentialBackoff(jitter=False).delay(10_000) == 900


def test_fixed() -> None:
    assert FixedBackoff(0).delay(1) == FixedBackoff(0).delay(99) == 0
    assert repr(FixedBackoff(30)) == "FixedBackoff(seconds=30)"
    assert repr(ExponentialBackoff()) == "ExponentialBackoff(base=5.0, factor=2.0, maximum=900.0, jitter=True)"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: FixedBackoff(43_201), "FixedBackoff.seconds"),
        (lambda: FixedBackoff(-1), "FixedBackoff.seconds"),
        (lambda: ExponentialBackoff(base=-1), "ExponentialBackoff.base"),
        (lambda: ExponentialBackoff(base=10, maximum=5), "ExponentialBackoff.maximum"),
        (lambda: ExponentialBackoff(factor=0.5), "ExponentialBackoff.factor"),
    ],
)
def test_out_of_range_settings_name_the_field(make: object, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        make()  # type: ignore[operator]

"""FIFO message groups: the order SQS delivers a group in is the order its messages are done in.

SQS hands out a FIFO group's messages in send order and holds the rest of the group back while one is in
flight, but a single receive may return several messages of one group. Run in separate slots, those would
overlap and finish in any order; so a plain handler gets each group of a receive as one unit of work (one
slot, its messages one after another), while different groups run side by side. Once a message of the group
does not succeed, the ones behind it from the same receive are given back unstarted: SQS keeps the group
locked behind the failed message while its back-off lasts, and then delivers them again in order.

A batch handler sees each receive whole, in order; what it reports failed holds its group back in the same
way: the later messages of that group in the batch are released rather than deleted ahead of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumerkit.runtime.leases import Lease

__all__ = ["Outcomes", "held_back", "in_groups"]

# A job's outcomes: (outcome, error) by id(lease), for the messages that did not simply succeed.
Outcomes = dict[int, tuple[str, BaseException | None]]


def _group(lease: Lease) -> str | None:
    return lease.raw.attributes.get("MessageGroupId")


def in_groups(leases: Sequence[Lease]) -> list[list[Lease]]:
    """The messages of one receive by group, each in receive order, the groups in order of first appearance."""
    groups: dict[str | None, list[Lease]] = {}
    for lease in leases:
        groups.setdefault(_group(lease), []).append(lease)
    return list(groups.values())


def held_back(leases: Sequence[Lease], outcomes: Outcomes) -> Outcomes:
    """A batch's outcomes, with every message that succeeded behind a failed one of its group released instead:
    deleting it would put it ahead of the message that failed, which SQS will deliver again. A message the
    handler gave back itself (``Message.release``) stops its group the same way."""
    stopped: set[str | None] = set()
    kept = dict(outcomes)
    for lease in leases:
        group = _group(lease)
        if group in stopped:
            kept.setdefault(id(lease), ("released", None))
        elif id(lease) in outcomes or (lease.settled and lease.outcome != "success"):
            stopped.add(group)
    return kept

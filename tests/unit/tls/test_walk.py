"""When a walk's picks prove that the server does not follow the client's order."""

from __future__ import annotations

import pytest

from scanners.tls.enumeration import _Walk


def walk(*steps: tuple[list[int], int]) -> _Walk:
    result = _Walk()
    for offer, pick in steps:
        result.add(offer, pick)
    return result


@pytest.mark.parametrize(
    ("steps", "defies"),
    [
        # A client-order server picks the first accepted suite of each offer, alternating ends.
        ([([1, 2, 3, 4], 1), ([4, 3, 2], 3), ([2, 4], 2)], False),
        # Picking 3 while 1 (accepted later) was offered before it: the server chose by its own order.
        ([([1, 2, 3, 4], 3), ([4, 2, 1], 1)], True),
        # 3 offered before 2 but never picked: simply not accepted, no contradiction.
        ([([1, 2, 3], 1), ([3, 2], 2)], False),
        ([([1, 2, 3], 2), ([3, 1], 3), ([1], 1)], True),
        ([([5, 6], 6)], False),
        ([], False),
    ],
)
def test_defies_client_order(steps: list[tuple[list[int], int]], defies: bool) -> None:
    assert walk(*steps).defies_client_order is defies

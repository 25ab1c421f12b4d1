"""The testbed's port allocator: distinct, free, and configurable."""

from __future__ import annotations

import socket

import pytest

from tests.testbed.ports import PORT_BASE_ENV, PortAllocator, ephemeral_range, is_free


def test_ports_are_distinct_and_free() -> None:
    taken = PortAllocator().take_many(20)
    assert len(set(taken)) == 20
    assert all(is_free(port) for port in taken)


def test_a_held_port_is_skipped() -> None:
    candidate = PortAllocator().take()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", candidate))
        assert not is_free(candidate)
        assert PortAllocator(base=candidate).take() != candidate


def test_ports_are_never_in_the_ephemeral_range() -> None:
    ephemeral = ephemeral_range()
    assert all(port not in ephemeral for port in PortAllocator().take_many(20))
    # A base inside the range starts above it (outgoing connections take their source ports there).
    assert PortAllocator(base=ephemeral.start).take() >= ephemeral.stop


def test_base_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORT_BASE_ENV, "50000")
    assert PortAllocator().take() >= 50000
    monkeypatch.setenv(PORT_BASE_ENV, "80")
    with pytest.raises(ValueError, match=PORT_BASE_ENV):
        PortAllocator()

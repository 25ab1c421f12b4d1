"""Pure parts of TLS engine part 2: group walks, the prime table, Heartbleed records, clear tickets."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from scanners.tls import dh, groups, heartbleed, registry
from scanners.tls.facts import TlsVersion
from scanners.tls.handshake import clear_ticket
from scanners.tls.parser import KeyExchangeParams
from scanners.tls.wire import Group
from tests.testbed.scripted_tls import openssl_group_prime


def server(accepted: Sequence[int], *, own_order: bool) -> groups.Pick:
    """A pick function for a server accepting ``accepted`` (its order when ``own_order``)."""

    async def pick(offer: Sequence[int]) -> int | None:
        if own_order:
            return next((group for group in accepted if group in offer), None)
        return next((group for group in offer if group in accepted), None)

    return pick


async def test_a_server_order_shows_in_the_walk() -> None:
    walk = await groups.walk([1, 2, 3, 4], server([3, 1], own_order=True))
    assert walk.picks == [3, 1]
    assert walk.server_order is True


async def test_a_client_order_needs_one_more_hello() -> None:
    calls: list[list[int]] = []
    inner = server([1, 3], own_order=False)

    async def pick(offer: Sequence[int]) -> int | None:
        calls.append(list(offer))
        return await inner(offer)

    walk = await groups.walk([1, 2, 3, 4], pick)
    assert (walk.picks, walk.server_order) == ([1, 3], False)
    assert calls[-1] == [3, 1]  # the accepted groups reversed


async def test_a_server_order_equal_to_ours_is_still_found() -> None:
    walk = await groups.walk([1, 2, 3], server([1, 2], own_order=True))
    assert (walk.picks, walk.server_order) == ([1, 2], True)


async def test_one_group_has_no_order_and_a_known_first_pick_saves_a_hello() -> None:
    calls = 0

    async def pick(offer: Sequence[int]) -> int | None:
        nonlocal calls
        calls += 1
        return None

    walk = await groups.walk([7, 8], pick, first=7)
    assert (walk.picks, walk.server_order, calls) == ([7], None, 1)


def test_group_names_are_iana_names() -> None:
    assert groups.group_name(Group.X25519MLKEM768) == "X25519MLKEM768"
    assert groups.group_name(Group.SECP256R1) == "secp256r1"
    assert groups.group_name(Group.BRAINPOOLP256R1) == "brainpoolP256r1"
    assert groups.group_name(Group.FFDHE3072) == "ffdhe3072"
    assert groups.group_name(0x1234) == "UNKNOWN_0x1234"
    assert not set(groups.FFDHE_GROUPS) & set(groups.EC_GROUPS)
    assert groups.TLS13_GROUPS[0] == Group.X25519MLKEM768


def _openssl_prime(name: str) -> int:
    return int.from_bytes(openssl_group_prime(name), "big")


@pytest.mark.parametrize("name", ["ffdhe2048", "ffdhe8192", "modp_1536", "dh_2048_256"])
def test_the_prime_table_holds_openssls_groups(name: str) -> None:
    known = dh.known_primes()[_openssl_prime(name)]
    assert known.name == name
    assert known.is_prime


def test_the_prime_table_knows_common_and_composite_primes() -> None:
    table = dh.known_primes().values()
    assert any(k.name == "modp_1024" and k.source == "RFC 2409" and k.safe for k in table)
    assert any(k.common and "nginx" in k.common and k.bits == 1024 for k in table)
    socat = [k for k in table if k.common == "Socat"]
    assert socat
    assert not socat[0].is_prime
    ffdhe = _openssl_prime("ffdhe4096").to_bytes(512, "big")
    assert dh.ffdhe_group(ffdhe) == Group.FFDHE4096
    assert dh.ffdhe_group(b"\x17" * 256) is None


def _code(name: str) -> int:
    suite = registry.by_name(name)
    assert suite is not None
    return suite.code


def test_families_take_the_highest_version() -> None:
    dhe_gcm, dhe_cbc = _code("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), _code("TLS_DHE_RSA_WITH_AES_128_CBC_SHA")
    anon, ecdhe = _code("TLS_DH_anon_WITH_AES_128_CBC_SHA"), _code("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    found = dh.families([(TlsVersion.TLS12, [dhe_gcm, ecdhe]), (TlsVersion.TLS10, [dhe_cbc, anon])])
    assert found == {"DHE_RSA": (TlsVersion.TLS12, [dhe_gcm]), "DH_anon": (TlsVersion.TLS10, [anon])}


def test_describe_a_large_generator() -> None:
    prime = _openssl_prime("dh_1024_160").to_bytes(128, "big")
    params = KeyExchangeParams("dhe", dh_prime=prime, dh_generator=b"\x05" * 128, public=b"\x01" * 100)
    described = dh.describe(params, "DHE_RSA", TlsVersion.TLS12, _code("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"))
    assert described is not None
    assert (described.prime_bits, described.generator, described.generator_bits) == (1024, None, 1019)
    assert described.public_key_bits == 793
    assert described.well_known == "dh_1024_160 (RFC 5114)"
    assert described.safe_prime is False


def test_heartbeat_records() -> None:
    record = heartbleed.heartbeat_record(0x0303, b"", heartbleed.OVERREAD)
    assert record[:5] == b"\x18\x03\x03\x00\x13"  # 19 bytes: type, length, no payload, 16 padding
    assert record[5:8] == b"\x01\x00\x03"
    answer = b"\x18\x03\x03\x00\x16\x02\x00\x03" + bytes(19)
    assert heartbleed._first_heartbeat(answer) == 3
    assert heartbleed._first_heartbeat(answer[:10]) is None
    assert heartbleed._ended(b"\x15\x03\x03\x00\x02\x02\x28")


def _record(content_type: int, payload: bytes) -> bytes:
    return bytes([content_type, 3, 3]) + len(payload).to_bytes(2, "big") + payload


def test_a_clear_ticket_and_its_lifetime() -> None:
    ticket = b"\x04" + (6 + 4).to_bytes(3, "big") + (86400 * 30).to_bytes(4, "big") + b"\x00\x04" + os.urandom(4)
    finished = _record(22, os.urandom(40))  # encrypted: must not be read
    data = _record(22, b"\x02\x00\x00\x00") + _record(22, ticket) + _record(20, b"\x01") + finished
    assert clear_ticket(data) == (True, 86400 * 30)
    assert clear_ticket(_record(22, b"\x02\x00\x00\x00") + _record(20, b"\x01")) == (False, None)
    assert clear_ticket(b"\x16\x03\x03\xff\xff\x04") == (False, None)  # truncated: nothing, no crash

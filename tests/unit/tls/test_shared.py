"""The pure parts of shared enumerations: what a server with given lists answers to a hello, which
enumerations may serve other domains, and the in-process template store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from scanners.base import ErrorReason, ProbeError
from scanners.tls import registry
from scanners.tls.enumeration import first_offer
from scanners.tls.facts import SharedEnumeration, TlsFacts, TlsVersion
from scanners.tls.prober import TlsScanOptions
from scanners.tls.shared import expected_pick, predicts, shareable, suite_code, suite_codes
from scanners.tls.templates import MemoryTemplates, Template, endpoint_key

AES128_GCM = 0xC02F  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
AES256_GCM = 0xC030  # TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
AES128_CBC = 0x002F  # TLS_RSA_WITH_AES_128_CBC_SHA
TLS13_AES128 = 0x1301


def facts(suites: dict[TlsVersion, list[int]], order: dict[TlsVersion, bool] | None = None, **more: object) -> TlsFacts:
    return TlsFacts(
        versions=list(suites),
        cipher_suites={version: registry.names(codes) for version, codes in suites.items()},
        server_order=order or {},
        **more,  # type: ignore[arg-type]
    )


def test_suite_names_go_back_to_their_codes() -> None:
    for code in (AES128_GCM, AES128_CBC, TLS13_AES128):
        assert suite_code(registry.suite_name(code)) == code
    assert suite_code("UNKNOWN_0xFAFA") == 0xFAFA
    assert suite_code(registry.suite_name(0x0700C0, sslv2=True), sslv2=True) == 0x0700C0
    assert suite_code("TLS_NO_SUCH_SUITE") is None
    # An SSLv2 cipher kind is not a TLS suite, and the other way round.
    assert suite_code(registry.suite_name(0x0700C0, sslv2=True)) is None


@pytest.mark.parametrize(
    ("accepted", "server_order", "offer", "pick"),
    [
        # The server's order: its best suite among those offered, wherever the offer puts it.
        ([AES256_GCM, AES128_GCM, AES128_CBC], True, [AES128_CBC, AES128_GCM, AES256_GCM], AES256_GCM),
        ([AES256_GCM, AES128_GCM, AES128_CBC], True, [AES128_CBC, AES128_GCM], AES128_GCM),
        # The client's order: the first offered that the server accepts.
        ([AES256_GCM, AES128_GCM, AES128_CBC], False, [AES128_CBC, AES128_GCM, AES256_GCM], AES128_CBC),
        ([AES256_GCM, AES128_GCM], False, [AES128_CBC, AES128_GCM, AES256_GCM], AES128_GCM),
        # One accepted suite (no order known): both rules agree.
        ([AES128_GCM], None, [AES128_CBC, AES128_GCM], AES128_GCM),
        # None of the offer accepted: a refusal.
        ([AES256_GCM], True, [AES128_CBC, AES128_GCM], None),
    ],
)
def test_the_predicted_pick_follows_the_order_in_force(
    accepted: list[int], server_order: bool | None, offer: list[int], pick: int | None
) -> None:
    order = {} if server_order is None else {TlsVersion.TLS12: server_order}
    assert expected_pick(facts({TlsVersion.TLS12: accepted}, order), TlsVersion.TLS12, offer) == pick


def test_a_version_not_spoken_predicts_a_refusal() -> None:
    assert expected_pick(facts({TlsVersion.TLS13: [TLS13_AES128]}), TlsVersion.TLS12, [AES128_GCM]) is None


def test_predictions_cover_every_version_and_sslv2() -> None:
    lists = facts(
        {TlsVersion.TLS12: [AES256_GCM, AES128_GCM], TlsVersion.TLS13: [TLS13_AES128]}, {TlsVersion.TLS12: True}
    )
    tls12 = expected_pick(lists, TlsVersion.TLS12, first_offer(TlsVersion.TLS12, 128))
    assert tls12 == AES256_GCM
    answers: dict[TlsVersion, object] = {
        TlsVersion.SSL2: None,
        TlsVersion.SSL3: None,
        TlsVersion.TLS10: None,
        TlsVersion.TLS11: None,
        TlsVersion.TLS12: AES256_GCM,
        TlsVersion.TLS13: TLS13_AES128,
    }
    assert predicts(lists, answers, 128)
    assert not predicts(lists, {**answers, TlsVersion.TLS12: AES128_GCM}, 128)  # another pick
    assert not predicts(lists, {**answers, TlsVersion.TLS11: AES128_GCM}, 128)  # a version it lacks
    assert not predicts(lists, {**answers, TlsVersion.SSL2: (0x0700C0,)}, 128)
    with_v2 = lists.model_copy(
        update={"versions": [TlsVersion.SSL2, *lists.versions], "cipher_suites": {
            **lists.cipher_suites, TlsVersion.SSL2: registry.names([0x0700C0], sslv2=True)}}
    )  # fmt: skip
    assert predicts(with_v2, {**answers, TlsVersion.SSL2: (0x0700C0,)}, 128)


def test_only_complete_error_free_enumerations_of_its_own_are_shared() -> None:
    good = facts({TlsVersion.TLS12: [AES128_GCM]})
    assert shareable(good)
    assert not shareable(TlsFacts())
    error = ProbeError(phase="tls-enumerate", reason=ErrorReason.TIMEOUT, message="slow")
    assert not shareable(good.model_copy(update={"errors": [error]}))
    borrowed = SharedEnumeration(enumerated_at=datetime.now(UTC), fields=["versions"], confirmations=6)
    assert not shareable(good.model_copy(update={"shared_from": borrowed}))
    strange = good.model_copy(update={"cipher_suites": {TlsVersion.TLS12: ["SOMETHING_ELSE"]}})
    assert suite_codes(strange, TlsVersion.TLS12) is None
    assert not shareable(strange)


def test_the_key_is_the_endpoint_and_the_options_but_not_the_name() -> None:
    options = TlsScanOptions(server_name="a.example")
    key = endpoint_key("c2s", "starttls", "192.0.2.1", 5222, options)
    assert key == endpoint_key("c2s", "starttls", "192.0.2.1", 5222, TlsScanOptions(server_name="b.example"))
    assert key != endpoint_key("c2s", "starttls", "192.0.2.1", 5223, options)
    assert key != endpoint_key("s2s", "starttls", "192.0.2.1", 5222, options)
    assert key != endpoint_key("c2s", "directtls", "192.0.2.1", 5222, options)
    assert key != endpoint_key("c2s", "starttls", "192.0.2.2", 5222, options)
    assert key != endpoint_key("c2s", "starttls", "192.0.2.1", 5222, TlsScanOptions(server_name="a", groups=False))


def test_the_memory_store_lets_one_scan_enumerate_while_the_others_wait() -> None:
    async def scenario() -> None:
        store = MemoryTemplates()
        first = await store.get_or_claim("k")
        assert first.template is None
        assert first.token is not None
        waiting = asyncio.create_task(store.get_or_claim("k"))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        template = Template.of(facts({TlsVersion.TLS12: [AES128_GCM]}))
        await store.put("k", template)
        await store.release("k", first.token)
        second = await asyncio.wait_for(waiting, 1)
        assert second.template == template
        assert second.token is None
        # Another key is independent.
        assert (await store.get_or_claim("other")).token is not None

    asyncio.run(scenario())


def test_a_claim_released_without_a_template_hands_the_claim_on() -> None:
    async def scenario() -> None:
        store = MemoryTemplates()
        first = await store.get_or_claim("k")
        waiting = asyncio.create_task(store.get_or_claim("k"))
        await asyncio.sleep(0.01)
        await store.release("k", "not-the-token")  # only the holder releases
        assert not waiting.done()
        assert first.token is not None
        await store.release("k", first.token)
        second = await asyncio.wait_for(waiting, 1)
        assert second.template is None
        assert second.token is not None

    asyncio.run(scenario())


def test_waiting_is_bounded_and_templates_expire() -> None:
    async def scenario() -> None:
        store = MemoryTemplates(wait=0.05, ttl=0.05)
        held = await store.get_or_claim("k")
        assert held.token is not None
        late = await store.get_or_claim("k")
        assert late.template is None
        assert late.token is None
        await store.put("k", Template.of(facts({TlsVersion.TLS12: [AES128_GCM]})))
        await store.release("k", held.token)
        assert (await store.get_or_claim("k")).template is not None
        await asyncio.sleep(0.06)
        assert (await store.get_or_claim("k")).template is None

    asyncio.run(scenario())

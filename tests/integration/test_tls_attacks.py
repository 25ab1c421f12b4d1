"""The attack probes: CCS injection, ROBOT, client-initiated renegotiation, TLS 1.3's downgrade sentinel.

Each is proven both ways on the scripted peer (which can be made vulnerable: Debian's OpenSSL 3
cannot), and on real Prosody as far as it can show it: its OpenSSL refuses an early
ChangeCipherSpec, has no Bleichenbacher oracle, sets the downgrade sentinel, and carries out a
client's renegotiation only when told to (``allow_client_renegotiation``) — and stops when the
catalogue's fix is applied.
"""

from __future__ import annotations

from collections import Counter

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from observatory.catalogue import catalogue
from scanners.base import ServiceKind, Transport
from scanners.connection import Endpoint, Limiter, LimiterSettings
from scanners.tls.facts import TlsFacts
from scanners.tls.openers import scan_endpoint
from scanners.tls.robot import VARIANTS
from tests.integration.test_tls_part2_scripted import GCM, codes, scan
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, WEAK_KNOBS, ProsodyFactory, ProsodyInstance
from tests.testbed.scripted_tls import TLS12, TLS13, PeerPolicy

pytestmark = pytest.mark.integration

RSA_KX = "TLS_RSA_WITH_AES_128_GCM_SHA256"
TLS13_SUITE = "TLS_AES_128_GCM_SHA256"
#: What the scripted peer's decryption says of each of the scanner's five blocks.
PADDINGS = ["valid", "bad-start", "wrong-length", "no-separator", "wrong-version"]


@pytest.mark.parametrize("early_ccs", ["take", "refuse", "refuse-alone"])
async def test_ccs_injection(ports: PortAllocator, early_ccs: str) -> None:
    # "refuse-alone" falls silent when two records come together (Prosody over a network): the
    # second ChangeCipherSpec is only sent when the first met silence.
    facts, _server = await scan(PeerPolicy(suites={TLS12: codes(GCM)}, early_ccs=early_ccs), ports)  # type: ignore[arg-type]
    assert facts.extensions is not None
    assert facts.extensions.ccs_injection is (early_ccs == "take")
    assert "ccs" not in " ".join(facts.connections_by_probe)  # it rides on the extension probe's connection
    assert facts.errors == []


async def test_ccs_injection_after_a_heartbleed_over_read(ports: PortAllocator) -> None:
    # The bleeding server answers both heartbeat requests; the second answer must not be taken for
    # the reaction to the ChangeCipherSpecs.
    facts, server = await scan(PeerPolicy(suites={TLS12: codes(GCM)}, heartbeat="bleeds", early_ccs="take"), ports)
    assert facts.extensions is not None
    assert facts.extensions.heartbleed is True
    assert server.overread_requests == [3, 1]
    assert facts.extensions.ccs_injection is True


def rsa_policy(pki: TestPKI, oracle: str) -> PeerPolicy:
    leaf = pki.leaf("good")
    key = serialization.load_pem_private_key(leaf.key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return PeerPolicy(suites={TLS12: codes(GCM, RSA_KX)}, chain=[leaf.der], rsa_key=key, rsa_oracle=oracle)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("oracle", "vulnerable", "strength", "answers", "connections"),
    [
        ("honest", False, None, ["alert 20"] * 5, 5),
        ("strong", True, "strong", ["alert 20", "alert 51", "alert 50", "alert 47", "alert 20"], 10),
        ("weak", True, "weak", ["alert 20", "closed", "closed", "closed", "alert 20"], 10),
    ],
)
async def test_robot(
    ports: PortAllocator,
    pki: TestPKI,
    oracle: str,
    vulnerable: bool,
    strength: str | None,
    answers: list[str],
    connections: int,
) -> None:
    facts, server = await scan(rsa_policy(pki, oracle), ports)
    assert facts.robot is not None
    assert facts.robot.vulnerable is vulnerable
    assert facts.robot.oracle == strength
    assert facts.robot.answers == dict(zip(VARIANTS, answers, strict=True))
    # Each block decrypted, with the server's own key, to what it was built to be (asked twice when
    # the answers differed).
    assert Counter(server.paddings) == Counter(PADDINGS * (connections // 5))
    assert facts.connections_by_probe["robot"] == connections
    assert facts.errors == []


@pytest.mark.parametrize("oracle", ["honest", "strong"])
async def test_robot_sends_the_certificate_a_server_asks_for(ports: PortAllocator, pki: TestPKI, oracle: str) -> None:
    # A server asking for a client certificate (s2s listeners do) looks at a key exchange only after
    # the client's Certificate: without the empty one every answer would be the same silence, and
    # the strong oracle would go unseen.
    policy = rsa_policy(pki, oracle)
    policy.certificate_request = True
    facts, server = await scan(policy, ports)
    assert facts.robot is not None
    assert facts.robot.vulnerable is (oracle == "strong")
    assert "silent" not in facts.robot.answers.values()
    assert Counter(server.paddings) == Counter(PADDINGS * (1 if oracle == "honest" else 2))


async def test_robot_is_not_run_without_rsa_key_exchange(ports: PortAllocator, pki: TestPKI) -> None:
    policy = rsa_policy(pki, "strong")
    policy.suites = {TLS12: codes(GCM)}
    facts, server = await scan(policy, ports)
    assert facts.robot is None
    assert "robot" not in facts.connections_by_probe
    assert server.paddings == []


@pytest.mark.parametrize("sentinel", [True, False])
async def test_downgrade_sentinel(ports: PortAllocator, sentinel: bool) -> None:
    policy = PeerPolicy(suites={TLS12: codes(GCM), TLS13: codes(TLS13_SUITE)}, downgrade_sentinel=sentinel)
    facts, _server = await scan(policy, ports)
    assert facts.downgrade_sentinel is sentinel
    # A TLS 1.2-only server has nothing to signal.
    facts, _server = await scan(PeerPolicy(suites={TLS12: codes(GCM)}, downgrade_sentinel=False), ports)
    assert facts.downgrade_sentinel is None


async def c2s_facts(instance: ProsodyInstance) -> TlsFacts:
    endpoint = Endpoint(ServiceKind.C2S, DOMAIN, HOST, instance.ports.c2s, Transport.STARTTLS)
    return await scan_endpoint(endpoint, Limiter(LimiterSettings(min_gap=0.005)))


async def test_prosody_weak_is_safe_from_all_four(prosody_weak: ProsodyInstance) -> None:
    facts = await c2s_facts(prosody_weak)
    assert facts.extensions is not None
    assert facts.extensions.ccs_injection is False
    # It accepts RSA key exchange (AES128-SHA), so ROBOT is asked: OpenSSL 3 answers all five alike.
    assert facts.robot is not None
    assert facts.robot.vulnerable is False
    assert set(facts.robot.answers.values()) == {"alert 20"}
    assert facts.connections_by_probe["robot"] == 5
    assert facts.downgrade_sentinel is True
    assert facts.client_renegotiation is False
    assert facts.errors == []


async def test_prosody_s2s_asks_for_a_certificate_and_robot_still_gets_answers(prosody_weak: ProsodyInstance) -> None:
    # Prosody's s2s listeners ask for a client certificate; its OpenSSL answers every block once
    # the (empty) Certificate came first, within the first round trip, not after a silent wait.
    endpoint = Endpoint(ServiceKind.S2S, DOMAIN, HOST, prosody_weak.ports.s2s, Transport.STARTTLS)
    facts = await scan_endpoint(endpoint, Limiter(LimiterSettings(min_gap=0.005)))
    assert facts.robot is not None
    assert facts.robot.vulnerable is False
    assert set(facts.robot.answers.values()) == {"alert 20"}
    assert facts.errors == []


async def test_prosody_client_renegotiation_and_its_fix(prosody_factory: ProsodyFactory) -> None:
    allowed = {"no_renegotiation": False, "allow_client_renegotiation": True}
    facts = await c2s_facts(prosody_factory("renegotiates", **WEAK_KNOBS, ssl_options=allowed))
    assert facts.client_renegotiation is True
    assert facts.session_ticket is not None  # the session probe's handshake it rode on still counts
    # The catalogue's Prosody snippet, as printed, in the same server's config (it replaces the ssl
    # table, so the certificate comes from the certificates folder). The catalogue marks this test
    # as the snippet's proof.
    snippet = catalogue()["tls.renegotiation.client-initiated"].snippets["prosody"]
    fixed = await c2s_facts(
        prosody_factory("fixed", **WEAK_KNOBS, ssl_options=allowed, certificate_in_ssl=False, global_lua=(snippet,))
    )
    assert fixed.client_renegotiation is False
    assert fixed.session_ticket is not None  # asked on a completed handshake, not for want of one
    assert fixed.errors == []

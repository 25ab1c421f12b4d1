"""Certificate analysis timings: per chain cold and cached, the one-off root store, DANE, a hostile chain.

    .venv/bin/python -m bench.certificates              # 200 rounds each
    .venv/bin/python -m bench.certificates --rounds 1000

"Cold" clears the parse and per-chain caches before every call (the root set stays built, as in a
running scanner); "cached" is another endpoint serving the same chain (only the identity is matched).
Chains are built in memory with the unit tests' builders; Mozilla's roots (certifi) are always loaded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from observatory.certificates import analyse_chain, match_dane
from observatory.certificates.analysis import clear_caches
from observatory.trust_store import mozilla_roots
from scanners.base import ServiceKind
from scanners.dns.facts import DnssecState, DnssecStatus, TlsaLookup, TlsaRecord
from tests.unit.certificates.builders import DAY, NOW, Issued, issue, xmpp_names

DOMAIN = "example.org"


def _ms(samples: list[float]) -> str:
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    return f"median {statistics.median(samples) * 1000:7.3f} ms, p95 {p95 * 1000:7.3f} ms"


def _time(function: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> list[float]:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def _chains() -> dict[str, tuple[list[bytes], list[Issued]]]:
    root = issue("Bench Root", ca=True, not_before=NOW - 900 * DAY, not_after=NOW + 3000 * DAY)
    inter = issue("Bench Intermediate", root, ca=True)
    leaf = issue(DOMAIN, inter, key_label="bench-leaf", sans=xmpp_names(DOMAIN))
    rsa_root = issue("Bench RSA Root", ca=True, key_kind="rsa4096", key_label="bench-rsa-root")
    rsa_inter = issue("Bench RSA Intermediate", rsa_root, ca=True, key_kind="rsa2048", key_label="bench-rsa-inter")
    rsa_leaf = issue(DOMAIN, rsa_inter, key_kind="rsa2048", key_label="bench-rsa-leaf", sans=xmpp_names(DOMAIN))
    ring = [issue("Ring CA", ca=True, key_label=f"bench-ring-{i}") for i in range(15)]
    linked = [issue("Ring CA", ring[(i + 1) % 15], ca=True, key_label=f"bench-ring-{i}") for i in range(15)]
    ring_leaf = issue(DOMAIN, linked[0], key_label="bench-ring-leaf", sans=xmpp_names(DOMAIN))
    return {
        "EC P-256, leaf + intermediate, trusted": ([leaf.der, inter.der], [root]),
        "RSA 2048/4096, leaf + intermediate + root": ([rsa_leaf.der, rsa_inter.der, rsa_root.der], [rsa_root]),
        "missing intermediate (explained)": ([leaf.der], [root]),
        "hostile: 15 same-name CAs in a ring": ([ring_leaf.der, *(c.der for c in linked)], [root]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    started = time.perf_counter()
    roots = mozilla_roots()
    print(f"Mozilla roots (certifi) loaded: {len(roots)} in {(time.perf_counter() - started) * 1000:.1f} ms (once)")
    chains = _chains()
    first_chain, first_roots = next(iter(chains.values()))
    started = time.perf_counter()
    analyse_chain(first_chain, domain=DOMAIN, kind=ServiceKind.C2S, at=NOW, extra_roots=[r.cert for r in first_roots])
    print(f"first analysis in the process (builds the root store): {(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"{rounds} rounds each:")
    for label, (chain, extra) in chains.items():
        extra_roots = [r.cert for r in extra]

        def run(
            kind: ServiceKind = ServiceKind.C2S, chain: list[bytes] = chain, extra_roots: list = extra_roots
        ) -> object:
            return analyse_chain(chain, domain=DOMAIN, kind=kind, at=NOW, extra_roots=extra_roots)

        cold = _time(run, rounds, before=lambda: clear_caches(keep_roots=True))
        run()
        cached = _time(lambda: run(ServiceKind.S2S), rounds)
        trusted = run().trusted  # type: ignore[attr-defined]
        print(f"  {label} (trusted={trusted})")
        print(f"    cold   {_ms(cold)}")
        print(f"    cached {_ms(cached)}")

    chain, extra = next(iter(chains.values()))
    certificate = analyse_chain(chain, domain=DOMAIN, kind=ServiceKind.C2S, at=NOW, extra_roots=[r.cert for r in extra])
    secure = DnssecStatus(state=DnssecState.SECURE)
    records = [
        TlsaRecord(usage=3, selector=1, matching_type=1, data="00" * 32),
        TlsaRecord(usage=2, selector=0, matching_type=2, data="00" * 64),
        TlsaRecord(usage=3, selector=1, matching_type=1, data=certificate.certificates[0].spki_sha256),
    ]
    tlsa = TlsaLookup(name="_5222._tcp.xmpp.example.org", records=records, dnssec=secure)
    dane = _time(lambda: match_dane(chain, tlsa, secure, certificate=certificate), rounds)
    print(f"  match_dane, 3 records (3 1 1 miss, 2 0 2 miss, 3 1 1 hit): {_ms(dane)}")
    clear_caches()


if __name__ == "__main__":
    main()

"""Turn :class:`ZoneSpec` data into served zone files: fresh keys, dnssec-signzone, tampering.

Keys are generated for every build (never committed) because RRSIGs expire after 30 days by default.
Children are signed first so their DS sets exist when the zone above them (the parent ``test.``, or
a zone nested under it) is assembled and signed; the parent's own DS set is the trust anchor.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.testbed.dns_zones import PARENT, ZoneSpec, delegation, mismatched_ds, render_zone
from tests.testbed.process import TestbedError, run_tool

ALGORITHM = "ECDSAP256SHA256"


@dataclass
class BuiltZones:
    """What :func:`build_zones` produced; ``zone_files`` maps zone name (no trailing dot) to the file named serves."""

    zone_files: dict[str, Path]
    trust_anchor_path: Path
    timings: dict[str, float] = field(default_factory=dict)


def _check(parent: ZoneSpec, zones: Sequence[ZoneSpec]) -> None:
    if not parent.signed:
        raise ValueError("the parent zone must be signed: its DS set is the trust anchor")
    names = [parent.origin.lower()] + [z.origin.lower() for z in zones]
    if len(set(names)) != len(names):
        raise ValueError(f"zone names must be unique: {names}")
    for zone in zones:
        if not zone.origin.lower().endswith(f".{parent.origin.lower()}"):
            raise ValueError(f"{zone.name} is not below the parent {parent.name}")


def _keygen(zone: ZoneSpec, keydir: Path) -> None:
    # A KSK and a ZSK, as a real zone has; dnssec-signzone -S picks them up by name from keydir.
    for extra in (["-f", "KSK"], []):
        run_tool(["dnssec-keygen", "-q", "-K", str(keydir), "-a", ALGORITHM, *extra, "-n", "ZONE", zone.origin])


def _sign(zone: ZoneSpec, source: Path, keydir: Path, dsdir: Path) -> Path:
    signed = source.with_suffix(".signed")
    argv = ["dnssec-signzone", "-q", "-S", "-K", str(keydir), "-d", str(dsdir), "-o", zone.origin, "-N", "unixtime"]
    if zone.nsec3 is not None:
        argv += ["-3", zone.nsec3.salt, "-H", str(zone.nsec3.iterations)]
        if zone.nsec3.opt_out:
            argv.append("-A")
    argv += [*zone.sign_args, "-f", str(signed), str(source)]
    run_tool(argv, cwd=source.parent)
    return signed


def _apply_tamper(zone: ZoneSpec, served: Path) -> Path:
    if zone.tamper is None:
        return served
    # Flattened (one record per line, absolute owners) so hooks can edit lines without a zone parser.
    flat = run_tool(["named-checkzone", "-q", "-D", "-o", "-", zone.origin, str(served)])
    tampered = served.with_suffix(".tampered")
    tampered.write_text(zone.tamper(flat))
    return tampered


def _ds_lines(zone: ZoneSpec, dsdir: Path) -> list[str]:
    dsset = dsdir / f"dsset-{zone.origin}"
    real = [line for line in dsset.read_text().splitlines() if line.strip()] if zone.signed else []
    return mismatched_ds(zone, real) if zone.wrong_ds else real


def _build_one(zone: ZoneSpec, zonedir: Path, keydir: Path, dsdir: Path, extra: Sequence[str] = ()) -> Path:
    source = zonedir / f"{zone.origin}zone"
    source.write_text(render_zone(zone, extra))
    if zone.signed:
        served = _sign(zone, source, keydir, dsdir)
    else:
        # Signed zones are checked by dnssec-signzone; unsigned ones would otherwise reach named unchecked.
        run_tool(["named-checkzone", "-q", zone.origin, str(source)])
        served = source
    return _apply_tamper(zone, served)


def enclosing_zone(zone: ZoneSpec, candidates: Sequence[ZoneSpec]) -> ZoneSpec | None:
    """The deepest of ``candidates`` strictly above ``zone``: the zone that delegates it."""
    above = [c for c in candidates if zone.origin.lower().endswith(f".{c.origin.lower()}")]
    return max(above, key=lambda c: c.origin.count("."), default=None)


def build_zones(zones: Sequence[ZoneSpec], workdir: Path, parent: ZoneSpec | None = None) -> BuiltZones:
    """Write, sign and tamper every zone under ``workdir`` (emptied first); return the served files.

    ``parent`` defaults to a plain signed ``test.``. Each ``delegate`` zone is delegated from its
    closest enclosing zone (so zones may nest, e.g. an unsigned island inside an NSEC3 zone), with
    its DS records (or wrong ones) when it is signed. Deeper zones are signed first, so every DS set
    exists before the zone that publishes it is signed.
    """
    parent = parent or ZoneSpec(PARENT)
    _check(parent, zones)
    keydir, zonedir, dsdir = workdir / "keys", workdir / "zones", workdir / "dsset"
    for folder in (keydir, zonedir, dsdir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    everything = [parent, *zones]
    children: dict[str, list[ZoneSpec]] = {z.origin.lower(): [] for z in everything}
    for zone in zones:
        above = enclosing_zone(zone, everything)
        assert above is not None  # _check: every zone is below the parent
        if zone.delegate:
            children[above.origin.lower()].append(zone)

    def build(zone: ZoneSpec) -> Path:
        delegations = [
            line for child in children[zone.origin.lower()] for line in delegation(child, _ds_lines(child, dsdir))
        ]
        return _build_one(zone, zonedir, keydir, dsdir, delegations)

    timings: dict[str, float] = {}
    files: dict[str, Path] = {}
    # The tools are separate processes, so threads overlap them; a zone only waits for its children.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        started = time.perf_counter()
        list(pool.map(lambda zone: _keygen(zone, keydir), [z for z in everything if z.signed]))
        timings["keygen"] = time.perf_counter() - started

        started = time.perf_counter()
        for depth in sorted({z.origin.count(".") for z in everything}, reverse=True):
            level = [z for z in everything if z.origin.count(".") == depth]
            for zone, path in zip(level, pool.map(build, level), strict=True):
                files[zone.origin.rstrip(".")] = path
    timings["sign"] = time.perf_counter() - started

    anchor = dsdir / f"dsset-{parent.origin}"
    if not anchor.is_file():
        raise TestbedError(f"dnssec-signzone wrote no DS set for {parent.origin}")
    ordered = {zone.origin.rstrip("."): files[zone.origin.rstrip(".")] for zone in [*zones, parent]}
    return BuiltZones(zone_files=ordered, trust_anchor_path=anchor, timings=timings)

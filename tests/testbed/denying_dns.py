"""Resolvers that deny public names: a real unbound that says NXDOMAIN for the root zone and every
name in it, or one that refuses every client.

That is what a scanner sees offline behind a local forwarder, or behind a filtering or captive-portal
resolver: the answers are well-formed, and wrong about everything.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from string import Template

import dns.exception
import dns.rcode

from tests.testbed.dns import LOOPBACK, TEMPLATES, ask
from tests.testbed.process import ManagedProcess, StartsAndStops, tcp_ready


class Denial(StrEnum):
    #: ``local-zone: "." always_nxdomain``: the root and everything below it "does not exist".
    NXDOMAIN = "nxdomain"
    #: ``access-control: … refuse``: every question from loopback is REFUSED.
    REFUSE = "refuse"


_RULES = {
    Denial.NXDOMAIN: (
        "    access-control: 127.0.0.0/8 allow\n"
        "    access-control: ::1 allow\n"
        '    local-zone: "." always_nxdomain\n'
        # test. is one of unbound's default local zones (NODATA); the testbed's anchor is there, so deny it too.
        '    local-zone: "test." always_nxdomain'
    ),
    Denial.REFUSE: "    access-control: 127.0.0.0/8 refuse\n    access-control: ::1 refuse",
}
_EXPECTED = {Denial.NXDOMAIN: dns.rcode.NXDOMAIN, Denial.REFUSE: dns.rcode.REFUSED}


class DenyingResolver(StartsAndStops):
    """One unbound on 127.0.0.1 and ::1 at ``port``, denying the way ``denial`` says."""

    def __init__(self, workdir: Path, denial: Denial, *, port: int, closed_port: int) -> None:
        self.workdir = workdir
        self.denial = denial
        self.address = (LOOPBACK[0], port)
        self._closed_port = closed_port
        self._process: ManagedProcess | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "unbound.conf"
        template = Template((TEMPLATES / "unbound-denying.conf.in").read_text())
        conf.write_text(
            template.substitute(
                deny=self.denial.value,
                port=self.address[1],
                workdir=self.workdir,
                rules=_RULES[self.denial],
                closed_port=self._closed_port,
            )
        )
        log = self.workdir / "unbound.log"
        log.unlink(missing_ok=True)
        self._process = ManagedProcess("unbound", ["unbound", "-d", "-c", str(conf)], log_path=log)
        self._process.start(self._denies)

    def _denies(self) -> bool:
        # Ready once it answers as configured (TCP first: a UDP probe to a closed port waits out its timeout).
        if not tcp_ready(*self.address)():
            return False
        try:
            return ask(self.address, ".", "DNSKEY", timeout=0.5).rcode() == _EXPECTED[self.denial]
        except (OSError, dns.exception.DNSException):
            return False

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

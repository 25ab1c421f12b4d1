"""The ejabberd testbed is real: checked from outside with the system openssl, raw sockets and ss."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import socket
import subprocess

import pytest
import yaml

from observatory.catalogue import catalogue
from tests.integration.test_testbed_prosody import (
    LEGACY_CIPHERS,
    SASL_NS,
    TLS_NS,
    assert_requires_starttls_and_hides_sasl,
    c2s_features,
    dialback_lookups,
    open_stream,
    protocol_of,
    read_until,
    s_client,
    starttls,
)
from tests.testbed import process  # not TestbedError itself: pytest would try to collect a Test* class
from tests.testbed.ejabberd import (
    HOST,
    LISTENERS,
    WEAK_KNOBS,
    EjabberdConfig,
    EjabberdFactory,
    EjabberdInstance,
    erlang_binary,
    render_config,
)
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator

pytestmark = pytest.mark.integration

#: How s_client reaches each listener.
ARGS = {
    "c2s": starttls("xmpp"),
    "s2s": starttls("xmpp-server"),
    "c2s_direct": ["-servername", DOMAIN],
    "s2s_direct": ["-servername", DOMAIN],
}
#: Debian's system configuration must not decide what the client offers.
_ENV = {**os.environ, "OPENSSL_CONF": "/dev/null"}


def legacy_handshake(port: int, *args: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-brief", *args, "-cipher", LEGACY_CIPHERS],
        capture_output=True,
        text=True,
        timeout=15,
        stdin=subprocess.DEVNULL,
        env=_ENV,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket ``pid`` listens on, as the kernel reports them."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            address, port = local.rsplit(":", 1)
            found.add((address.strip("[]"), int(port)))
    return found


@pytest.mark.parametrize("listener", LISTENERS)
def test_strong_negotiates_tls13_with_a_valid_chain(
    ejabberd_strong: EjabberdInstance, pki: TestPKI, listener: str
) -> None:
    port = getattr(ejabberd_strong.ports, listener)
    code, output = s_client(port, *ARGS[listener], "-CAfile", str(pki.root_path), "-verify_hostname", DOMAIN)
    assert code == 0, output
    assert protocol_of(output) == "TLSv1.3", output
    assert "Verification: OK" in output, output


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_strong_refuses_legacy_versions_without_an_alert(
    ejabberd_strong: EjabberdInstance, listener: str, version: str
) -> None:
    code, output = legacy_handshake(getattr(ejabberd_strong.ports, listener), *ARGS[listener], version)
    assert code != 0
    assert "CONNECTION ESTABLISHED" not in output
    # fast_tls closes the connection where Prosody's OpenSSL sends protocol_version.
    assert "unexpected eof" in output, output
    assert "alert" not in output, output


@pytest.mark.parametrize("listener", LISTENERS)
def test_weak_accepts_tls10_on_every_listener(ejabberd_weak: EjabberdInstance, listener: str) -> None:
    """Proves the TLS knobs reach each listener, s2s STARTTLS included (it reads only top-level options)."""
    code, output = legacy_handshake(getattr(ejabberd_weak.ports, listener), *ARGS[listener], "-tls1")
    assert code == 0, output
    assert protocol_of(output) == "TLSv1", output


def test_strong_requires_starttls_and_hides_sasl_before_it(ejabberd_strong: EjabberdInstance) -> None:
    assert_requires_starttls_and_hides_sasl(ejabberd_strong.ports.c2s)


def test_weak_offers_optional_starttls_and_takes_plain_in_cleartext(ejabberd_weak: EjabberdInstance) -> None:
    sock, features = open_stream(ejabberd_weak.ports.c2s, "jabber:client")
    with sock:
        tls = features.find(f"{{{TLS_NS}}}starttls")
        assert tls is not None
        assert tls.find(f"{{{TLS_NS}}}required") is None
        mechanisms = [m.text for m in features.iterfind(f"{{{SASL_NS}}}mechanisms/{{{SASL_NS}}}mechanism")]
        assert "PLAIN" in mechanisms
        assert "DIGEST-MD5" in mechanisms  # only with plaintext storage
        # The registered account really logs in without TLS.
        token = base64.b64encode(b"\0alice\0s3cret").decode()
        sock.sendall(f"<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{token}</auth>".encode())
        answer = read_until(sock, b">")
    assert answer.startswith(f"<success xmlns='{SASL_NS}'".encode()), answer


@pytest.mark.parametrize(("instance_name", "required"), [("ejabberd_strong", True), ("ejabberd_weak", False)])
def test_s2s_starttls_policy(instance_name: str, required: bool, request: pytest.FixtureRequest) -> None:
    instance: EjabberdInstance = request.getfixturevalue(instance_name)
    sock, features = open_stream(instance.ports.s2s, "jabber:server", sender=SCANNER_DOMAIN)
    sock.close()
    tls = features.find(f"{{{TLS_NS}}}starttls")
    assert tls is not None
    assert (tls.find(f"{{{TLS_NS}}}required") is not None) is required


def test_private_ports_and_no_epmd(ejabberd_strong: EjabberdInstance) -> None:
    pid = ejabberd_strong.pid
    assert pid is not None
    config = ejabberd_strong.config
    expected = {getattr(config.ports, name) for name in LISTENERS} | {config.distribution_port}
    # Every socket on loopback, on a port of its own slice: none on 4369, none on a random port.
    assert listening_sockets(pid) == {(HOST, port) for port in expected}
    # Registered with no epmd: the shared one (RabbitMQ's here) does not know the node...
    names = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=10, check=False).stdout
    assert ejabberd_strong.node.split("@")[0] not in names
    # ...and none was started for it.
    group = subprocess.run(["ps", "-o", "comm=", "-g", str(os.getpgid(pid))], capture_output=True, text=True).stdout
    assert "epmd" not in group.split()
    assert "beam.smp" in group.split()


def test_factory_variants_get_fresh_ports_and_stop_cleanly(
    ejabberd_factory: EjabberdFactory, ejabberd_strong: EjabberdInstance
) -> None:
    variant = ejabberd_factory("short-lived")
    assert set(vars(variant.ports).values()).isdisjoint(vars(ejabberd_strong.ports).values())
    assert variant.running
    pid = variant.pid
    assert pid is not None
    variant.stop()
    assert not variant.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, variant.ports.c2s), timeout=1).close()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole group is gone, erl_child_setup included


def test_a_taken_port_fails_at_once_with_the_log_and_nothing_left_running(
    ejabberd_strong: EjabberdInstance, ports: PortAllocator
) -> None:
    taken = socket.create_server((HOST, ports.take()))
    with taken:
        c2s, c2s_direct, s2s, distribution, epmd = ports.take_many(5)
        config = dataclasses.replace(
            ejabberd_strong.config,
            name="clash",
            ports=dataclasses.replace(
                ejabberd_strong.ports, c2s=c2s, c2s_direct=c2s_direct, s2s=s2s, s2s_direct=taken.getsockname()[1]
            ),
            distribution_port=distribution,
            epmd_port=epmd,
        )
        instance = EjabberdInstance(config, ejabberd_strong.directory.parent / "clash")
        with pytest.raises(process.PortInUse, match=r"eaddrinuse|address already in use"):
            instance.start()
        assert not instance.running


def test_listener_extra_and_the_top_level_override(ejabberd_factory: EjabberdFactory) -> None:
    """A snippet reaches one listener; a top-level ``c2s_protocol_options`` beats every listener's own."""
    tls13_only = ["no_sslv3", "no_tlsv1", "no_tlsv1_1", "no_tlsv1_2"]
    per_listener = ejabberd_factory("per-listener", listener_extra={"c2s_direct": {"protocol_options": tls13_only}})
    assert legacy_handshake(per_listener.ports.c2s_direct, *ARGS["c2s_direct"], "-tls1_2")[0] != 0
    assert legacy_handshake(per_listener.ports.c2s, *ARGS["c2s"], "-tls1_2")[0] == 0

    top_level = ejabberd_factory("top-level", extra={"c2s_protocol_options": tls13_only})
    for listener in ("c2s", "c2s_direct"):
        code, output = legacy_handshake(getattr(top_level.ports, listener), *ARGS[listener], "-tls1_2")
        assert code != 0, (listener, output)
    assert legacy_handshake(top_level.ports.s2s, *ARGS["s2s"], "-tls1_2")[0] == 0


def test_extra_wins_over_the_knobs_but_not_over_the_testbed(ejabberd_strong: EjabberdInstance) -> None:
    rendered = render_config(dataclasses.replace(ejabberd_strong.config, extra={"s2s_use_starttls": "false"}))
    assert rendered.count('"s2s_use_starttls"') == 1  # a key twice would be an error in ejabberd
    assert '"s2s_use_starttls": "false"' in rendered
    with pytest.raises(ValueError, match="listen"):
        render_config(dataclasses.replace(ejabberd_strong.config, extra={"listen": []}))
    with pytest.raises(ValueError, match="unknown listener"):
        render_config(dataclasses.replace(ejabberd_strong.config, listener_extra={"c2s_tls": {}}))
    rendered = render_config(dataclasses.replace(ejabberd_strong.config, extra={"odd: key": 'a"b\nc'}))
    assert '"odd: key": "a\\"b\\nc"' in rendered


def test_a_catalogue_snippet_applied_by_restart_takes_effect(ejabberd_factory: EjabberdFactory) -> None:
    """The catalogue's ejabberd fix for TLS 1.0, parsed as YAML, on a weak variant: TLS 1.0 is gone everywhere."""
    variant = ejabberd_factory("snippet", **WEAK_KNOBS)
    ports_before = variant.ports
    assert legacy_handshake(variant.ports.c2s, *ARGS["c2s"], "-tls1")[0] == 0
    snippet, _reason = catalogue()["tls.protocol.tls10"].fix_for("ejabberd")
    assert snippet is not None
    variant.restart(extra=yaml.safe_load(snippet))
    assert variant.ports == ports_before
    for listener in LISTENERS:
        code, output = legacy_handshake(getattr(variant.ports, listener), *ARGS[listener], "-tls1")
        assert code != 0, (listener, output)
    # Still the weak variant otherwise: TLS 1.2 and PLAIN before TLS.
    assert legacy_handshake(variant.ports.c2s, *ARGS["c2s"], "-tls1_2")[0] == 0
    assert "PLAIN" in [m.text for m in c2s_features(variant.ports.c2s).iter(f"{{{SASL_NS}}}mechanism")]


def test_erlang_literals_cannot_break_the_start_command() -> None:
    assert erlang_binary('a"b') == "<<97,34,98>>"
    assert erlang_binary("é") == "<<195,169>>"


def test_config_knobs_have_the_strong_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(EjabberdConfig)}
    assert fields["starttls_required"] is True
    assert fields["s2s_use_starttls"] == "required"
    assert "no_tlsv1_1" in fields["protocol_options"]
    assert re.fullmatch(r"[A-Z0-9:-]+", fields["ciphers"])


def test_a_config_ejabberd_refuses_fails_with_its_own_words(ejabberd_factory: EjabberdFactory) -> None:
    with pytest.raises(process.TestbedError, match="no_such_option") as failure:
        ejabberd_factory("bad-config", extra={"no_such_option": True})
    assert "Unknown option" in str(failure.value), failure.value
    assert not any(instance.running for instance in ejabberd_factory.started)


def test_dns_goes_only_to_the_configured_resolver(ejabberd_factory: EjabberdFactory, ports: PortAllocator) -> None:
    """A dialback request makes ejabberd look up the sender; the query must reach our fake resolver.

    (Erlang's resolver also asks for the machine's own host name first; that comes here too.)
    """
    names: list[str] = []
    lookups = dialback_lookups(
        lambda port: ejabberd_factory("dns", dns_resolver_port=port, **WEAK_KNOBS).ports.s2s, ports
    )
    while not any(name.endswith(f"{SCANNER_DOMAIN}.") for name in names):
        names.append(next(lookups).name.to_text())
    lookups.close()
    # ejabberd 23.01 asks for the Direct TLS record (XEP-0368) first.
    assert names[-1] in (f"_xmpps-server._tcp.{SCANNER_DOMAIN}.", f"_xmpp-server._tcp.{SCANNER_DOMAIN}."), names

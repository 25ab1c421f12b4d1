"""Private ejabberd instances for the testbed, one folder each under the run's scratch folder.

Debian's ejabberd (23.01) is started without ``ejabberdctl`` and never as the system service:
``erl`` runs ejabberd's code directly as our child, with its own config, Mnesia spool, log folder
and node name. Its Erlang distribution listens on a private loopback port and registers with no
epmd: the shared one on 4369 (RabbitMQ's on this machine) is never touched.

Variants are cheap: an ``EjabberdConfig`` of knobs renders the single template
``templates/ejabberd.yml``; ``extra`` (top-level options) and ``listener_extra`` (per listener)
let a test apply any further snippet, e.g. a catalogue fix.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import json
import os
import re
import shutil
import socket
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tests.testbed.layout import DOMAIN, XmppPorts
from tests.testbed.pki import Leaf
from tests.testbed.ports import PortAllocator
from tests.testbed.process import (
    ManagedProcess,
    PortInUse,
    ServerFactory,
    StartsAndStops,
    TestbedError,
    start_on_fresh_ports,
    tcp_ready,
)
from tests.testbed.prosody import OPENSSL_CONF

TEMPLATE = Path(__file__).with_name("templates") / "ejabberd.yml"
#: ejabberd listens on IPv4 loopback only (one listener per address would double every port).
HOST = "127.0.0.1"
#: How ejabberd says a listener's port is taken (the log line, then the supervisor's report).
_PORT_TAKEN = re.compile(r"eaddrinuse|address already in use")
#: Printed by the start command once the accounts exist; readiness waits for it.
USERS_READY = "testbed: users registered"

#: Mozilla's "intermediate" TLS 1.2 suites: what an admin following current advice would set.
INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)

#: Knobs that turn the secure defaults of ``EjabberdConfig`` into the deliberately weak instance.
WEAK_KNOBS: Mapping[str, Any] = MappingProxyType(
    {
        "protocol_options": ("no_sslv3",),
        "ciphers": "AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0",
        "starttls_required": False,
        "s2s_use_starttls": "optional",
        "auth_password_format": "plain",
        # fast_tls uses the system libssl, whose level 2 refuses TLS 1.0/1.1 whatever ejabberd says.
        "openssl_security_level": 0,
    }
)

JsonValue = str | int | bool | None | Sequence["JsonValue"] | Mapping[str, "JsonValue"]
LISTENERS = ("c2s", "c2s_direct", "s2s", "s2s_direct")


@dataclass(frozen=True)
class EjabberdConfig:
    """Every knob a testbed variant may turn; the defaults are the strong instance."""

    name: str
    ports: XmppPorts
    #: The node's Erlang distribution port (loopback only).
    distribution_port: int
    #: Where the node looks for an epmd: a private port where none runs, so it registers nowhere.
    epmd_port: int
    leaf: Leaf
    #: Port of the testbed resolver on 127.0.0.1, the only name server the node knows.
    dns_resolver_port: int
    domain: str = DOMAIN
    #: ``starttls_required`` on the c2s STARTTLS listener (ejabberd always offers STARTTLS there).
    starttls_required: bool = True
    #: fast_tls's ``protocol_options`` (OpenSSL ``SSL_OP_*`` names) on every listener and s2s.
    protocol_options: tuple[str, ...] = ("no_sslv3", "no_tlsv1", "no_tlsv1_1")
    #: OpenSSL cipher string for TLS ≤ 1.2 on every listener and s2s; None keeps ejabberd's default.
    ciphers: str | None = INTERMEDIATE_CIPHERS
    #: A DH parameter file for DHE suites; None leaves DHE without parameters (no DHE suite).
    dhfile: Path | None = None
    #: ``false``, ``optional`` or ``required``: STARTTLS on incoming (and outgoing) s2s.
    s2s_use_starttls: str = "required"
    #: ``scram`` stores hashes (no PLAIN-only mechanisms needed), ``plain`` stores the passwords.
    auth_password_format: str = "scram"
    disable_sasl_mechanisms: tuple[str, ...] = ()
    #: (user, password) accounts on ``domain``, registered at every start (again is harmless).
    users: tuple[tuple[str, str], ...] = (("alice", "s3cret"),)
    #: Further top-level options (e.g. a parsed catalogue snippet); they win over the knobs' own
    #: (``s2s_ciphers`` …). A top-level ``c2s_ciphers``/``c2s_protocol_options`` overrides every
    #: c2s listener's settings: that is ejabberd 23.01's behaviour, and what a snippet relies on.
    extra: Mapping[str, JsonValue] = field(default_factory=dict)
    #: Further options of one listener, by name in ``LISTENERS``; they win over the knobs above.
    listener_extra: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    #: OpenSSL's security level for the whole process (via OPENSSL_CONF); None keeps Debian's 2.
    openssl_security_level: int | None = None
    loglevel: str = "info"


def _tls_options(config: EjabberdConfig) -> dict[str, JsonValue]:
    options: dict[str, JsonValue] = {"protocol_options": list(config.protocol_options)}
    if config.ciphers is not None:
        options["ciphers"] = config.ciphers
    if config.dhfile is not None:
        options["dhfile"] = str(config.dhfile)
    return options


def _listeners(config: EjabberdConfig) -> list[dict[str, JsonValue]]:
    ports, tls = config.ports, _tls_options(config)
    listeners: dict[str, dict[str, JsonValue]] = {
        "c2s": {"module": "ejabberd_c2s", "port": ports.c2s, "starttls": True, **tls},
        "c2s_direct": {"module": "ejabberd_c2s", "port": ports.c2s_direct, "tls": True, **tls},
        # STARTTLS on s2s takes the top-level s2s_* options; the listener's would be ignored.
        "s2s": {"module": "ejabberd_s2s_in", "port": ports.s2s},
        "s2s_direct": {"module": "ejabberd_s2s_in", "port": ports.s2s_direct, "tls": True, **tls},
    }
    listeners["c2s"]["starttls_required"] = config.starttls_required
    unknown = set(config.listener_extra) - set(LISTENERS)
    if unknown:
        raise ValueError(f"unknown listener(s) {sorted(unknown)}; known: {LISTENERS}")
    for name, extra in config.listener_extra.items():
        listeners[name].update(extra)
    return [{"ip": HOST, **listener} for listener in listeners.values()]


#: Top-level options the testbed itself depends on: a snippet must not move them.
FIXED_OPTIONS = frozenset(
    {
        "hosts",
        "loglevel",
        "certfiles",
        "listen",
        "acme",
        "auth_method",
        "acl",
        "access_rules",
        "shaper_rules",
        "modules",
    }
)


def top_level_options(config: EjabberdConfig) -> dict[str, JsonValue]:
    """The knobs' top-level options, then ``extra`` over them (a snippet's ``s2s_ciphers`` wins)."""
    fixed = FIXED_OPTIONS & set(config.extra)
    if fixed:
        raise ValueError(f"{sorted(fixed)} belong to the testbed's template; use the knobs or listener_extra")
    options: dict[str, JsonValue] = {
        "s2s_use_starttls": config.s2s_use_starttls,
        # s2s STARTTLS reads only these (ejabberd_s2s_in's own options are for Direct TLS).
        **{f"s2s_{key}": value for key, value in _tls_options(config).items()},
        "auth_password_format": config.auth_password_format,
        "disable_sasl_mechanisms": list(config.disable_sasl_mechanisms),
    }
    options.update(config.extra)
    return options


def render_config(config: EjabberdConfig) -> str:
    options = top_level_options(config)
    return string.Template(TEMPLATE.read_text()).substitute(
        hosts=json.dumps([config.domain]),
        loglevel=json.dumps(config.loglevel),
        certfiles=json.dumps([str(config.leaf.chain_path), str(config.leaf.key_path)]),
        listen=json.dumps(_listeners(config)),
        options="\n".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in options.items()),
    )


def erlang_binary(text: str) -> str:
    """``text`` as an Erlang binary literal (UTF-8), so no value can break the start command."""
    return "<<" + ",".join(str(byte) for byte in text.encode()) + ">>"


def erlang_string(text: str) -> str:
    return json.dumps(text)  # the escapes JSON needs for a plain path are the ones Erlang reads


@functools.cache
def ejabberd_lib_dir() -> Path:
    """The folder holding ``ejabberd-<version>/ebin`` (ERL_LIBS); fail clearly when not installed."""
    if shutil.which("erl") is None:
        raise TestbedError("erl not found: apt-get install ejabberd")
    found = sorted(glob.glob("/usr/lib/*/ejabberd-*/ebin/ejabberd.app"))
    if not found:
        raise TestbedError("ejabberd's code is not installed: apt-get install ejabberd")
    return Path(found[-1]).parent.parent.parent


class EjabberdInstance(StartsAndStops):
    """One running (or stopped) ejabberd; use as a context manager or call start()/stop()."""

    def __init__(self, config: EjabberdConfig, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.config_path = directory / "ejabberd.yml"
        self.log_dir = directory / "logs"
        self.spool_dir = directory / "spool"
        self.inetrc_path = directory / "inetrc"
        self.openssl_conf_path = directory / "openssl.cnf"
        #: Unique per run: the ports are.
        self.node = f"testbed{config.ports.c2s}@localhost"
        self._process: ManagedProcess | None = None

    @property
    def ports(self) -> XmppPorts:
        return self.config.ports

    @property
    def log_path(self) -> Path:
        return self.log_dir / "ejabberd.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        return None if self._process is None or self._process.proc is None else self._process.proc.pid

    def _argv(self) -> list[str]:
        register = ", ".join(
            f"ejabberd_auth:try_register({erlang_binary(user)}, {erlang_binary(self.config.domain)}, "
            f"{erlang_binary(password)})"
            for user, password in self.config.users
        )
        return [
            "erl",
            *("-sname", self.node, "-noinput"),
            # No epmd: never start one, and listen on a fixed private distribution port; with
            # ERL_EPMD_PORT (env) pointing where no epmd runs, the node also registers nowhere.
            *("-start_epmd", "false", "-erl_epmd_port", str(self.config.distribution_port)),
            *("-kernel", "inet_dist_use_interface", "{127,0,0,1}"),
            *("-kernel", "inet_dist_listen_min", str(self.config.distribution_port)),
            *("-kernel", "inet_dist_listen_max", str(self.config.distribution_port)),
            *("-mnesia", "dir", erlang_string(str(self.spool_dir))),
            *("-ejabberd", "config", erlang_string(str(self.config_path))),
            *("-ejabberd", "log_path", erlang_string(str(self.log_path))),
            *("-s", "ejabberd"),
            # -s and -eval run in order, and ejabberd:start/0 returns once every host is up.
            *("-eval", f'[{register}], io:format("~s~n", ["{USERS_READY}"]).'),
        ]

    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "ERL_LIBS": str(ejabberd_lib_dir()),
            "ERL_INETRC": str(self.inetrc_path),
            "ERL_EPMD_PORT": str(self.config.epmd_port),
            "ERL_CRASH_DUMP": str(self.log_dir / "erl_crash.dump"),
            # ext_mod would otherwise create ~/.ejabberd-modules.
            "CONTRIB_MODULES_PATH": str(self.directory / "contrib"),
            "HOME": str(self.directory),
        }
        if self.config.openssl_security_level is not None:
            env["OPENSSL_CONF"] = str(self.openssl_conf_path)
        return env

    def _write_files(self) -> None:
        for sub in (self.log_dir, self.spool_dir, self.directory / "contrib"):
            sub.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(self.config))
        # Names resolve only through the testbed resolver: no /etc/resolv.conf, no /etc/hosts.
        self.inetrc_path.write_text(
            "{lookup, [file, dns]}.\n"
            '{host, {127,0,0,1}, ["localhost"]}.\n'
            '{resolv_conf, ""}.\n{hosts_file, ""}.\n'
            f"{{nameserver, {{127,0,0,1}}, {self.config.dns_resolver_port}}}.\n"
        )
        if self.config.openssl_security_level is not None:
            self.openssl_conf_path.write_text(OPENSSL_CONF.format(level=self.config.openssl_security_level))

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            raise TestbedError(f"ejabberd {self.config.name} is already running")
        self._write_files()
        console = self.log_dir / "console.log"
        offsets = {path: path.stat().st_size if path.exists() else 0 for path in (console, self.log_path)}
        self._process = ManagedProcess(
            f"ejabberd {self.config.name}", self._argv(), log_path=console, cwd=self.directory, env=self._env()
        )
        try:
            self._process.start(lambda: self._ready(offsets), timeout=timeout)
        except PortInUse:
            self.stop()
            raise
        except TestbedError as exc:
            self.stop()
            # A taken listener port can also make ejabberd exit before a readiness check saw it.
            if _PORT_TAKEN.search(self._new_logs(offsets)):
                raise PortInUse(str(exc)) from None
            raise
        except BaseException:
            self.stop()
            raise

    def _new_log(self, path: Path, offset: int) -> str:
        try:
            with path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _new_logs(self, offsets: Mapping[Path, int]) -> str:
        return "".join(self._new_log(path, offset) for path, offset in offsets.items())

    def _ready(self, offsets: Mapping[Path, int]) -> bool:
        """Ready when the accounts exist, every listener accepts and c2s answers a stream header.

        A taken port does not stop ejabberd (it logs and goes on without that listener), and an
        accepting port alone could be another process's, so the log is read for errors first.
        """
        text = self._new_logs(offsets)
        if _PORT_TAKEN.search(text):
            raise PortInUse(f"ejabberd {self.config.name} could not bind a port:\n{self.log_tail()}")
        errors = re.findall(r"^.*\[(?:error|critical)\].*$", text, re.MULTILINE)
        if errors:
            raise TestbedError(f"ejabberd {self.config.name} logged errors while starting:\n" + "\n".join(errors[:8]))
        if USERS_READY not in text:
            return False
        return all(tcp_ready(HOST, getattr(self.ports, name))() for name in LISTENERS) and answers_stream_header(
            HOST, self.ports.c2s, self.config.domain
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def restart(self, **changes: Any) -> None:
        """Stop, change ``EjabberdConfig`` fields (e.g. ``extra=`` a fix snippet), start again.

        Ports, name and node stay, and so do the spool and its accounts: a rescan reaches the same
        endpoints, now configured differently.
        """
        fixed = {"name", "ports", "distribution_port", "epmd_port"} & set(changes)
        if fixed:
            raise ValueError(f"{sorted(fixed)} stay the same across a restart")
        self.stop()
        self.config = dataclasses.replace(self.config, **changes)
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        console = self._process.log_tail(lines) if self._process is not None else "(not started)"
        try:
            log = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            log = "(no log)"
        return f"--- console ---\n{console}\n--- {self.log_path.name} ---\n{log}"


def answers_stream_header(host: str, port: int, domain: str, timeout: float = 2.0) -> bool:
    """True when a c2s stream header is answered with one (the listener is ejabberd's, and up)."""
    header = (
        f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client'"
        " xmlns:stream='http://etherx.jabber.org/streams'>"
    )
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(header.encode())
            data = b""
            while b"<stream:stream" not in data and len(data) < 8192:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                data += chunk
            return True
    except OSError:
        return False


def _config_on_fresh_ports(
    ports: PortAllocator, name: str, leaf: Leaf, dns_resolver_port: int, knobs: Mapping[str, Any]
) -> EjabberdConfig:
    c2s, c2s_direct, s2s, s2s_direct, distribution, epmd = ports.take_many(6)
    return EjabberdConfig(
        name=f"{name}-{c2s}",  # ports are unique per run, so folders never clash across tests
        ports=XmppPorts(c2s=c2s, c2s_direct=c2s_direct, s2s=s2s, s2s_direct=s2s_direct),
        distribution_port=distribution,
        epmd_port=epmd,
        leaf=leaf,
        dns_resolver_port=dns_resolver_port,
        **knobs,
    )


def start_ejabberd(
    root: Path, ports: PortAllocator, name: str, leaf: Leaf, dns_resolver_port: int, **knobs: Any
) -> EjabberdInstance:
    """Start a variant on fresh ports, once more on other ones if a port was taken meanwhile."""

    def make(_attempt: int) -> EjabberdInstance:
        config = _config_on_fresh_ports(ports, name, leaf, dns_resolver_port, knobs)
        return EjabberdInstance(config, root / config.name)

    return start_on_fresh_ports(make)


class EjabberdFactory(ServerFactory[EjabberdInstance]):
    """Starts variants on fresh ports; ``stop_all()`` reaps every one it started."""

    def __init__(self, root: Path, ports: PortAllocator, default_leaf: Leaf, dns_resolver_port: int) -> None:
        super().__init__()
        self._root = root
        self._ports = ports
        self._default_leaf = default_leaf
        self._dns_resolver_port = dns_resolver_port

    def __call__(self, name: str = "variant", **knobs: Any) -> EjabberdInstance:
        """Start a variant: ``knobs`` are ``EjabberdConfig`` fields (e.g. ``**WEAK_KNOBS, extra=…``)."""
        leaf = knobs.pop("leaf", self._default_leaf)
        dns_resolver_port = knobs.pop("dns_resolver_port", self._dns_resolver_port)

        def make(_attempt: int) -> EjabberdInstance:
            config = _config_on_fresh_ports(self._ports, name, leaf, dns_resolver_port, knobs)
            # Recorded before it starts, so even a failed attempt is stopped by stop_all().
            self.started.append(instance := EjabberdInstance(config, self._root / config.name))
            return instance

        return start_on_fresh_ports(make)

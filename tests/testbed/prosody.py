"""Private Prosody instances for the testbed, one folder each under the run's scratch folder.

Variants are cheap: a ``ProsodyConfig`` of knobs renders the single template
``templates/prosody.cfg.lua``; the instance registers its users offline with prosodyctl, then runs
``prosody -F`` as our child until ``stop()`` reaps it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import string
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tests.testbed.layout import DOMAIN, XmppPorts, plan_layout
from tests.testbed.pki import Leaf, TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.process import ManagedProcess, ServerFactory, StartsAndStops, TestbedError, run_tool, tcp_ready

TEMPLATE = Path(__file__).with_name("templates") / "prosody.cfg.lua"
#: Where every instance connects; the servers listen on ::1 as well.
HOST = "127.0.0.1"
#: The testbed resolver's address; only its port varies (``Layout.dns_resolver``).
RESOLVER_HOST = "127.0.0.1"

#: Process-wide OpenSSL defaults for ``openssl_security_level`` (Debian builds in level 2).
OPENSSL_CONF = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT:@SECLEVEL={level}
"""

LuaValue = str | int | bool | Sequence["LuaValue"] | Mapping[str, "LuaValue"]

#: Knobs that turn the secure defaults of ``ProsodyConfig`` into the deliberately weak instance.
WEAK_KNOBS: Mapping[str, Any] = MappingProxyType(
    {
        "protocol": "tlsv1+",
        "tls_profile": "legacy",
        "ciphers": "AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0",
        "cipher_server_preference": True,
        "c2s_require_encryption": False,
        "s2s_require_encryption": False,
        "allow_unencrypted_plain_auth": True,
        "authentication": "internal_plain",
    }
)


@dataclass(frozen=True)
class ProsodyConfig:
    """Every knob a testbed variant may turn; the defaults are the strong instance."""

    name: str
    ports: XmppPorts
    #: Served on every port: ``chain_path`` as the certificate, ``key_path`` as the key.
    leaf: Leaf
    #: Port of the testbed resolver on 127.0.0.1; Prosody never uses another one.
    dns_resolver_port: int
    domain: str = DOMAIN
    #: None leaves the protocol range to ``tls_profile`` (the ssl table overrides the profile).
    protocol: str | None = "tlsv1_2+"
    #: None keeps the cipher list of ``tls_profile``.
    ciphers: str | None = None
    tls_profile: str = "intermediate"
    #: None keeps the profile's choice.
    cipher_server_preference: bool | None = None
    #: Further OpenSSL options of LuaSec (``allow_client_renegotiation``, ``no_renegotiation`` …):
    #: name → set or cleared, on top of Prosody's defaults.
    ssl_options: Mapping[str, bool] = field(default_factory=dict)
    c2s_require_encryption: bool = True
    s2s_require_encryption: bool = True
    s2s_secure_auth: bool = False
    allow_unencrypted_plain_auth: bool = False
    authentication: str = "internal_hashed"
    extra_hosts: tuple[str, ...] = ()
    #: Options of one extra host (e.g. its own ``ssl`` table), written under its VirtualHost line.
    host_options: Mapping[str, Mapping[str, LuaValue]] = field(default_factory=dict)
    extra_modules: tuple[str, ...] = ()
    #: Further global options for later variants, rendered as ``key = value`` (keys are Lua names).
    extra_options: Mapping[str, LuaValue] = field(default_factory=dict)
    #: (user, password) accounts on ``domain``, registered before the first start.
    users: tuple[tuple[str, str], ...] = (("alice", "s3cret"),)
    log_level: str = "info"
    #: LuaSec loads the certificate before applying ``ciphers``, so "@SECLEVEL=0" there comes too
    #: late for a weak leaf (rsa1024: "ee key too small", sha1: "ca md too weak"); a level set
    #: here goes into OpenSSL's defaults for the whole process (via OPENSSL_CONF) instead.
    openssl_security_level: int | None = None
    #: False serves the leaf from the certificates folder (``<domain>.crt`` and ``.key``, found by
    #: Prosody's automatic lookup, as ``prosodyctl cert import`` leaves them) instead of naming it in
    #: the ssl table, so a config may replace that table whole, as the catalogue's snippets do.
    certificate_in_ssl: bool = True
    #: Lua written verbatim at the end of the global section (a catalogue snippet, applied as it is
    #: printed). An option it sets replaces the knob's line, as an admin edits that line: Prosody
    #: 0.12.3 refuses a config that sets one option twice.
    global_lua: tuple[str, ...] = ()


BASE_MODULES = ("roster", "saslauth", "tls", "disco", "ping", "version", "posix", "dialback")
_LUA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def lua(value: LuaValue) -> str:
    """Render a Python value as a Lua literal, so no knob can break the config's syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        return "{ " + " ".join(f"{_lua_key(key)} = {lua(item)};" for key, item in value.items()) + " }"
    return "{ " + ", ".join(lua(item) for item in value) + " }"


def _lua_key(key: str) -> str:
    return key if _LUA_NAME.match(key) else f"[{lua(key)}]"


def render_config(config: ProsodyConfig, directory: Path) -> str:
    ssl: dict[str, LuaValue] = {}
    if config.certificate_in_ssl:
        ssl["certificate"] = str(config.leaf.chain_path)
        ssl["key"] = str(config.leaf.key_path)
    if config.protocol is not None:
        ssl["protocol"] = config.protocol
    if config.ciphers is not None:
        ssl["ciphers"] = config.ciphers
    options = dict(config.ssl_options)
    if config.cipher_server_preference is not None:
        options["cipher_server_preference"] = config.cipher_server_preference
    if options:
        ssl["options"] = options
    for key in config.extra_options:
        if not _LUA_NAME.match(key):
            raise ValueError(f"extra option {key!r} is not a Lua name")
    rendered = string.Template(TEMPLATE.read_text()).substitute(
        pidfile=lua(str(directory / "prosody.pid")),
        data_path=lua(str(directory / "data")),
        certificates_dir=lua(str(directory / "certs")),
        log_level=lua(config.log_level),
        c2s_port=config.ports.c2s,
        c2s_direct_port=config.ports.c2s_direct,
        s2s_port=config.ports.s2s,
        s2s_direct_port=config.ports.s2s_direct,
        dns_forward=lua(f"{RESOLVER_HOST}@{config.dns_resolver_port}"),
        modules_enabled=lua([*BASE_MODULES, *config.extra_modules]),
        c2s_require_encryption=lua(config.c2s_require_encryption),
        s2s_require_encryption=lua(config.s2s_require_encryption),
        s2s_secure_auth=lua(config.s2s_secure_auth),
        allow_unencrypted_plain_auth=lua(config.allow_unencrypted_plain_auth),
        authentication=lua(config.authentication),
        tls_profile=lua(config.tls_profile),
        ssl=lua(ssl),
        extra_options="\n".join(f"{key} = {lua(value)}" for key, value in config.extra_options.items()),
        domain=lua(config.domain),
        extra_hosts="\n".join(_virtual_host(host, config.host_options.get(host, {})) for host in config.extra_hosts),
        global_lua=GLOBAL_LUA_MARK,
    )
    return _with_global_lua(rendered, config.global_lua)


GLOBAL_LUA_MARK = "-- global_lua --"
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE)


def _with_global_lua(rendered: str, chunks: Sequence[str]) -> str:
    """Put ``chunks`` at the mark, dropping the template's own line for every option they set."""
    text = "\n".join(chunks)
    replaced = set(_ASSIGNMENT.findall(text))
    head, _mark, tail = rendered.partition(GLOBAL_LUA_MARK)
    kept = []
    for line in head.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and match.group(1) in replaced:
            if line.count("{") != line.count("}"):
                raise ValueError(f"cannot replace the multi-line option {match.group(1)!r}")
            continue
        kept.append(line)
    return "\n".join(kept) + "\n" + text + tail


def _virtual_host(host: str, options: Mapping[str, LuaValue]) -> str:
    for key in options:
        if not _LUA_NAME.match(key):
            raise ValueError(f"host option {key!r} is not a Lua name")
    return "\n".join([f"VirtualHost {lua(host)}", *(f"\t{key} = {lua(value)}" for key, value in options.items())])


@functools.cache
def check_prosody_installed() -> None:
    """Fail early and clearly instead of letting Prosody fall back to the system's resolver.

    Without lua-unbound, Prosody's legacy resolver reads /etc/resolv.conf and always queries
    port 53, which the testbed must never do.
    """
    for tool in ("prosody", "prosodyctl", "lua5.4"):
        if shutil.which(tool) is None:
            raise TestbedError(f"{tool} not found: apt-get install prosody lua-unbound")
    try:
        run_tool(["lua5.4", "-e", 'require "lunbound"'], timeout=10)
    except TestbedError as exc:
        raise TestbedError(f"lua-unbound is missing (apt-get install lua-unbound): {exc}") from exc


class ProsodyInstance(StartsAndStops):
    """One running (or stopped) Prosody; use as a context manager or call start()/stop()."""

    def __init__(self, config: ProsodyConfig, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.config_path = directory / "prosody.cfg.lua"
        self.log_path = directory / "prosody.log"
        self.openssl_conf_path = directory / "openssl.cnf"
        env = None
        if config.openssl_security_level is not None:
            env = {**os.environ, "OPENSSL_CONF": str(self.openssl_conf_path)}
        self._process = ManagedProcess(
            f"prosody {config.name}",
            ["prosody", "-F", "--config", str(self.config_path)],
            log_path=self.log_path,
            cwd=directory,
            env=env,
        )
        self._registered = False

    @property
    def ports(self) -> XmppPorts:
        return self.config.ports

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self, timeout: float = 15.0) -> None:
        check_prosody_installed()
        for sub in ("data", "certs"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(self.config, self.directory))
        if not self.config.certificate_in_ssl:
            certs = self.directory / "certs"
            shutil.copyfile(self.config.leaf.chain_path, certs / f"{self.config.domain}.crt")
            shutil.copyfile(self.config.leaf.key_path, certs / f"{self.config.domain}.key")
        if self.config.openssl_security_level is not None:
            self.openssl_conf_path.write_text(OPENSSL_CONF.format(level=self.config.openssl_security_level))
        if not self._registered:
            for user, password in self.config.users:
                run_tool(
                    ["prosodyctl", "--config", str(self.config_path), "register", user, self.config.domain, password],
                    timeout=30,
                )
            self._registered = True
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        try:
            self._process.start(lambda: self._ready(log_offset), timeout=timeout)
        except TestbedError:
            self._process.stop()
            raise

    def restart(self, config: ProsodyConfig) -> None:
        """Stop, take ``config`` (same name and ports: the folder and the scan targets stay), start."""
        if (config.name, config.ports) != (self.config.name, self.config.ports):
            raise ValueError("a restart keeps the instance's name and ports")
        self.stop()
        self.config = config
        self.start()

    def _ready(self, log_offset: int) -> bool:
        """Ready when Prosody itself holds every port on both loopback addresses.

        An accepting TCP port alone proves nothing: Prosody keeps running when a port is taken by
        another process or a certificate fails to load (it only logs an error), and the probe
        would then reach the other process or a port without TLS. So any error fails at once.
        """
        with self.log_path.open("rb") as log:
            log.seek(log_offset)
            text = log.read().decode(errors="replace")
        errors = re.findall(r"^.*\serror\t.*$", text, re.MULTILINE)
        if errors:
            raise TestbedError(f"prosody {self.config.name} logged errors while starting:\n" + "\n".join(errors[:8]))
        return all(
            self._activated(text, service, port) and tcp_ready(HOST, port)()
            for service, port in self._services().items()
        )

    @staticmethod
    def _activated(log: str, service: str, port: int) -> bool:
        # Prosody lists the addresses of a service in no fixed order.
        match = re.search(rf"Activated service '{service}' on (.*)", log)
        return match is not None and {f"[127.0.0.1]:{port}", f"[::1]:{port}"} <= set(match.group(1).split(", "))

    def _services(self) -> dict[str, int]:
        ports = self.config.ports
        return {
            "c2s": ports.c2s,
            "c2s_direct_tls": ports.c2s_direct,
            "s2s": ports.s2s,
            "s2s_direct_tls": ports.s2s_direct,
        }

    def stop(self) -> None:
        self._process.stop()

    def log_tail(self, lines: int = 30) -> str:
        return self._process.log_tail(lines)


class ProsodyFactory(ServerFactory[ProsodyInstance]):
    """Starts extra variants on fresh ports; ``stop_all()`` reaps every one it started."""

    def __init__(self, root: Path, ports: PortAllocator, default_leaf: Leaf, dns_resolver_port: int) -> None:
        self._root = root
        self._ports = ports
        self._default_leaf = default_leaf
        self._dns_resolver_port = dns_resolver_port
        super().__init__()

    def __call__(self, name: str = "variant", **knobs: Any) -> ProsodyInstance:
        """Start a variant: ``knobs`` are ``ProsodyConfig`` fields (e.g. ``**WEAK_KNOBS, leaf=…``)."""
        c2s, c2s_direct, s2s, s2s_direct = self._ports.take_many(4)
        unique = f"{name}-{c2s}"  # ports are unique per run, so folders never clash across tests
        knobs.setdefault("leaf", self._default_leaf)
        knobs.setdefault("dns_resolver_port", self._dns_resolver_port)
        config = ProsodyConfig(
            name=unique, ports=XmppPorts(c2s=c2s, c2s_direct=c2s_direct, s2s=s2s, s2s_direct=s2s_direct), **knobs
        )
        return self.launch(ProsodyInstance(config, self._root / unique))


@contextmanager
def scratch_prosody(name: str, ports: PortAllocator) -> Iterator[ProsodyInstance]:
    """The testbed's strong Prosody in a temporary folder, for scripts outside pytest (the benchmarks)."""
    layout = plan_layout(ports)
    with tempfile.TemporaryDirectory() as scratch:
        pki = TestPKI.create(Path(scratch) / "pki")
        config = ProsodyConfig(
            name=name, ports=layout.strong, leaf=pki.leaf("good"), dns_resolver_port=layout.dns_resolver
        )
        with ProsodyInstance(config, Path(scratch) / "prosody") as prosody:
            yield prosody

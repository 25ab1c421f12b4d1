"""The address policy, table by table: every special-purpose range, the boundaries around them, the
embedded-IPv4 forms, operator networks, and the default (an admin's LAN scan) allowing everything."""

from __future__ import annotations

import ipaddress

import pytest

from scanners.policy import SPECIAL_RANGES, AddressPolicy, AddressRefused, parse_networks, special_purpose

PUBLIC = AddressPolicy(public_only=True)

REFUSED = [
    ("0.0.0.0", "this network"),
    ("0.255.255.255", "this network"),
    ("10.0.0.0", "RFC 1918"),
    ("10.255.255.255", "RFC 1918"),
    ("100.64.0.0", "CGNAT"),
    ("100.127.255.255", "CGNAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.0.1", "link-local"),
    ("172.16.0.0", "RFC 1918"),
    ("172.31.255.255", "RFC 1918"),
    ("192.0.0.8", "IETF protocol"),
    ("192.0.2.1", "TEST-NET-1"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.0.1", "RFC 1918"),
    ("198.18.0.0", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.7", "TEST-NET-2"),
    ("203.0.113.9", "TEST-NET-3"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.255", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.254", "reserved"),
    ("255.255.255.255", "limited broadcast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("100::1", "discard"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("fc00::1", "unique local"),
    ("fdff:ffff::1", "unique local"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:2::1", "not globally reachable"),
    # Embedded IPv4 that is not global
    ("::ffff:127.0.0.1", "IPv4-mapped address carrying 127.0.0.1, which is loopback"),
    ("::ffff:10.1.2.3", "IPv4-mapped address carrying 10.1.2.3"),
    ("64:ff9b::7f00:1", "NAT64 (RFC 6052) address carrying 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 (RFC 6052) address carrying 169.254.169.254"),
    ("2002:7f00:1::", "6to4 (RFC 3056) address carrying 127.0.0.1"),
    ("2002:c0a8:101::1", "6to4 (RFC 3056) address carrying 192.168.1.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo (RFC 4380) address carrying 127.0.0.1"),
    ("2001:0:a00:1::1", "Teredo (RFC 4380) address carrying 10.0.0.1"),
]

ALLOWED = [
    "1.1.1.1",
    "8.8.8.8",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:808:808:8000:63bf:f7f7:f7f7",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_public_mode_refuses_special_purpose_addresses(address: str, reason: str) -> None:
    refusal = PUBLIC.refusal(address)
    assert refusal is not None, address
    assert reason in refusal
    with pytest.raises(AddressRefused, match="refused by the address policy") as raised:
        PUBLIC.check(address)
    assert raised.value.address == address


@pytest.mark.parametrize("address", ALLOWED)
def test_public_mode_allows_public_unicast(address: str) -> None:
    assert PUBLIC.refusal(address) is None
    PUBLIC.check(address)


@pytest.mark.parametrize(("network", "name"), SPECIAL_RANGES)
def test_every_named_range_is_refused_at_both_ends(network: ipaddress.IPv4Network, name: str) -> None:
    for address in (network.network_address, network.broadcast_address):
        refusal = special_purpose(address)
        assert refusal is not None, (address, name)


def test_bracketed_and_scoped_forms_are_the_same_address() -> None:
    assert "loopback" in (PUBLIC.refusal("[::1]") or "")
    assert "link-local" in (PUBLIC.refusal("fe80::1%eth0") or "")


def test_names_are_never_dialled_under_a_restricting_policy() -> None:
    assert PUBLIC.refusal("xmpp.example.org") == "not an IP address"
    assert AddressPolicy().refusal("xmpp.example.org") is None


def test_the_default_policy_allows_everything() -> None:
    default = AddressPolicy()
    for address, _ in REFUSED:
        assert default.refusal(address) is None
    assert not default.restricts


def test_operator_networks() -> None:
    policy = AddressPolicy(
        public_only=True,
        allow=parse_networks(["127.0.1.0/24", "fd00:1::/64"]),
        deny=parse_networks(["8.8.8.0/24", "127.0.1.9"]),
    )
    assert policy.refusal("127.0.1.5") is None  # an operator's own monitoring target
    assert policy.refusal("fd00:1::5") is None
    assert "denied network 127.0.1.9/32" in (policy.refusal("127.0.1.9") or "")  # deny wins over allow
    assert "denied network 8.8.8.0/24" in (policy.refusal("8.8.8.8") or "")
    assert "loopback" in (policy.refusal("127.0.0.1") or "")
    # Without public mode a deny list still restricts, and alone.
    private = AddressPolicy(deny=parse_networks(["10.0.0.0/8"]))
    assert private.refusal("10.1.1.1") is not None
    assert private.refusal("192.168.1.1") is None
    assert private.refusal("host.example") == "not an IP address"


def test_parse_networks_says_which_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP network"):
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"])

"""Turning what a user typed into the XMPP domain we scan."""

from __future__ import annotations

import ipaddress

import dns.exception
import dns.name


class DomainError(ValueError):
    """The text is not a domain name we can scan; the message says why."""


def normalize_domain(text: str) -> str:
    """Return the domain as lower-case A-labels without a trailing dot (IDNA 2008, UTS #46 mapping).

    An XMPP domain is a DNS name (RFC 7622 §3.2); IP literals are valid JIDs but cannot have SRV
    records or a meaningful certificate identity, so they are refused here (``--connect`` exists for
    scanning an address).
    """
    candidate = text.strip()
    if not candidate:
        raise DomainError("the domain is empty")
    if "@" in candidate or "/" in candidate:
        raise DomainError(f"{text!r} looks like a JID or URL; give only the domain, e.g. example.org")
    try:
        ipaddress.ip_address(candidate.strip("[]"))
    except ValueError:
        pass
    else:
        raise DomainError(f"{text!r} is an IP address; scan a domain, or use --connect to choose the address")
    try:
        name = dns.name.from_unicode(candidate.rstrip("."), idna_codec=dns.name.IDNA_2008_Practical)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise DomainError(f"{text!r} is not a valid domain name: {exc}") from None
    labels = [label.decode("ascii") for label in name.labels if label]
    if len(labels) < 1:
        raise DomainError(f"{text!r} is not a valid domain name")
    for label in labels:
        if label.startswith("-") or label.endswith("-") or not all(c.isalnum() or c == "-" for c in label):
            raise DomainError(f"{text!r} is not a valid host name (label {label!r})")
    return ".".join(labels).lower()

"""RRSIG verification and DS matching, with a reason for each way a signature can fail."""

from __future__ import annotations

import dns.dnssec
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from scanners.dns.signatures import (
    MAX_SIGNATURES,
    anchor_keys,
    keys_matching_ds,
    supported_ds,
    usable_keys,
    verify_rrset,
)
from scanners.dns.trust_anchors import IANA_ROOT_DS, parse_trust_anchors, root_trust_anchors
from tests.unit.dns.zonekit import DAY, NOW, Zone, name, rrset

ZONE = Zone.named("ex.test.")
SRV = rrset("_xmpp-client._tcp.ex.test.", "SRV", "0 5 5222 xmpp.ex.test.")


def _verify(data: dns.rrset.RRset, sigs: dns.rrset.RRset, zone: Zone = ZONE) -> str | None:
    sig, reason = verify_rrset(data, list(sigs), zone.origin, list(zone.dnskey_rrset()), NOW)
    assert (sig is None) == (reason is not None)
    return reason


def test_a_good_signature_verifies() -> None:
    assert _verify(SRV, ZONE.sign(SRV)) is None


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"expiration": NOW - DAY, "inception": NOW - 2 * DAY}, "signature expired on 2027-01-14 "),
        ({"inception": NOW + DAY, "expiration": NOW + 2 * DAY}, "signature not valid before 2027-01-16 "),
    ],
)
def test_validity_window_failures_name_the_date(knobs: dict[str, int], reason: str) -> None:
    assert reason in (_verify(SRV, ZONE.sign(SRV, **knobs)) or "")


def test_changed_data_does_not_verify() -> None:
    changed = rrset("_xmpp-client._tcp.ex.test.", "SRV", "0 5 1 xmpp.ex.test.")

    assert "does not verify" in (_verify(changed, ZONE.sign(SRV)) or "")


def test_a_key_the_zone_does_not_have_is_named_by_its_tag() -> None:
    other = Zone.named("ex.test.")
    reason = _verify(SRV, other.sign(SRV))

    assert reason == f"no DNSKEY of ex.test. has key tag {dns.dnssec.key_id(other.zsk_dnskey)}"


def test_a_signature_by_another_signer_does_not_count() -> None:
    assert _verify(SRV, ZONE.sign(SRV, signer=name("test."))) == "no signature by ex.test."


def test_an_expired_signature_is_a_better_reason_than_a_missing_key() -> None:
    sigs = ZONE.sign(SRV, inception=NOW - 2 * DAY, expiration=NOW - DAY)
    sigs.union_update(Zone.named("ex.test.").sign(SRV))

    assert "expired" in (_verify(SRV, sigs) or "")


def test_at_most_a_few_signatures_are_tried() -> None:
    # KeyTrap-style piles of signatures cost at most MAX_SIGNATURES verifications, even if a good
    # one follows.
    junk = [Zone.named("ex.test.").sign(SRV, expiration=NOW + DAY + i) for i in range(MAX_SIGNATURES)]
    sigs = dns.rrset.RRset(SRV.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.SRV)
    for junk_sig in junk:
        sigs.union_update(junk_sig)
    sigs.union_update(ZONE.sign(SRV))

    ordered = sorted(sigs, key=lambda s: s.expiration)  # the good signature comes last
    sig, reason = verify_rrset(SRV, ordered, ZONE.origin, list(ZONE.dnskey_rrset()), NOW)
    assert sig is None
    assert reason is not None
    assert verify_rrset(SRV, ordered[-1:], ZONE.origin, list(ZONE.dnskey_rrset()), NOW)[0] is not None


def test_ds_matches_only_the_key_it_was_made_from() -> None:
    keys = ZONE.dnskey_rrset()

    assert keys_matching_ds(ZONE.origin, list(ZONE.ds_rrset()), keys) == [ZONE.ksk_dnskey]
    assert keys_matching_ds(ZONE.origin, list(Zone.named("ex.test.").ds_rrset()), keys) == []
    # The same key under another owner name has another digest.
    assert keys_matching_ds(name("other.test."), list(ZONE.ds_rrset()), keys) == []


def test_only_the_strongest_supported_digest_is_used() -> None:
    mixed = [*ZONE.ds_rrset("SHA1"), *ZONE.ds_rrset("SHA384")]
    [best] = supported_ds(mixed)

    assert best.digest_type == 4
    unsupported = dns.rrset.from_text("ex.test.", 300, "IN", "DS", "12345 13 3 " + "AB" * 32)  # GOST
    assert supported_ds(unsupported) == []
    unknown_algorithm = dns.rrset.from_text("ex.test.", 300, "IN", "DS", "12345 3 2 " + "AB" * 32)  # DSA
    assert supported_ds(unknown_algorithm) == []


def test_usable_keys_are_zone_keys_of_supported_algorithms() -> None:
    not_zone = dns.dnssec.make_dnskey(ZONE.zsk.public_key(), 13, flags=0)

    assert usable_keys([ZONE.ksk_dnskey, not_zone]) == [ZONE.ksk_dnskey]


def test_anchors_given_as_ds_or_as_dnskey() -> None:
    keys = ZONE.dnskey_rrset()
    as_ds = parse_trust_anchors(ZONE.ds_rrset().to_text())
    as_key = parse_trust_anchors(dns.rrset.from_rdata("ex.test.", 300, ZONE.ksk_dnskey).to_text())

    assert anchor_keys(ZONE.origin, as_ds.rrsets, keys) == [ZONE.ksk_dnskey]
    assert anchor_keys(ZONE.origin, as_key.rrsets, keys) == [ZONE.ksk_dnskey]
    assert anchor_keys(name("other.test."), as_ds.rrsets, keys) == []


# The root zone's KSK-2017 and KSK-2024 as published by IANA (root-anchors.xml, and Debian's
# dns-root-data root.key): the built-in DS records must be their digests.
ROOT_KSKS = """
. IN DNSKEY 257 3 8 (
    AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh
    4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb
    9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6
    +cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=
)
. IN DNSKEY 257 3 8 (
    AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmO
    ElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/
    dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXk
    PIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=
)
"""


def test_built_in_root_anchors_are_the_digests_of_the_root_ksks() -> None:
    [ksks] = parse_trust_anchors(ROOT_KSKS).rrsets
    anchors = root_trust_anchors()

    assert {dns.dnssec.key_id(key) for key in ksks} == {20326, 38696}
    assert sorted(anchor_keys(name("."), anchors.rrsets, ksks), key=dns.dnssec.key_id) == sorted(
        ksks, key=dns.dnssec.key_id
    )
    assert "20326" in IANA_ROOT_DS
    assert "38696" in IANA_ROOT_DS

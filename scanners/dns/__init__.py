"""DNS discovery (SRV, A/AAAA, TLSA) and in-process DNSSEC validation.

Entry point: ``await discover(domain, DiscoveryOptions(...)) -> Discovery`` (:mod:`.discovery`), the
facts in :mod:`.facts`. Underneath, by layer:

* :mod:`.client` asks one recursive resolver (DO and CD set, each question once per scan, bounded
  in count and time); failures come back as replies with an error, never as exceptions;
* :mod:`.validator` judges every RRset from the trust anchor down (:mod:`.trust_anchors` holds the
  IANA root KSKs and reads ``--trust-anchor`` files); :mod:`.signatures` checks RRSIGs and DS
  records, :mod:`.denial`, :mod:`.nsec3` and :mod:`.proofs` the NSEC/NSEC3 proofs (pure functions);
* :mod:`.ordering` orders SRV records (XEP-0368 merge, RFC 2782 weights); :mod:`.records` turns
  validated answers into facts; :mod:`.names` normalises what a user typed.
"""

"""DNS discovery (SRV, A/AAAA, TLSA) and in-process DNSSEC validation."""

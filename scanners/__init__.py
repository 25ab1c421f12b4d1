"""Everything that touches the network: DNS and DNSSEC, XMPP streams, the TLS engine, pacing.

Facts only, never judgments, and nothing of ours outside ``scanners`` is imported here.
Each probe family (``dns``, ``stream``, ``tls``) defines the types of the facts it observes.
"""

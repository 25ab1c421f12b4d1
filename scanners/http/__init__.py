"""HTTPS discovery: XEP-0156 host-meta (BOSH and WebSocket endpoints), the legacy ``_xmppconnect``
TXT record, and POSH documents (RFC 7711/7712).

Every request goes only to the addresses our own resolver produced (``scanners.http.transport``):
the machine's resolver is never asked, the address policy is checked at connect time, and bodies,
redirects and time are bounded. ``scanners.http.probe.probe_http`` runs the whole family.
"""

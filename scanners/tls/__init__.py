"""The TLS engine: raw ClientHello probes, version and cipher-suite enumeration, and what follows it.

Public API:

* ``openers.scan_endpoint(endpoint, limiter, options=None) -> TlsFacts``: one XMPP endpoint through
  the connection layer (STARTTLS or Direct TLS); ``openers.endpoint_options(endpoint, **overrides)``.
* ``enumeration.scan_tls(opener, TlsScanOptions) -> TlsFacts``: the engine on any *opener* (an async
  context manager factory yielding ``(reader, writer)`` where TLS starts), e.g. ``openers.tcp_opener``.
  Enumeration first (versions, suites, order, chain), then ``followups``: named groups and the
  ECDHE curve (``groups``), DH parameters (``dh``, with ``data/dh_primes.json``), extension
  behaviour and TLS_FALLBACK_SCSV (``extensions``, ``heartbleed``), the session ticket and OCSP
  staple of a complete handshake (``handshake``), every certificate chain (``certificates``).
  ``TlsScanOptions`` (``prober``) turns each on or off; all are on by default.
* ``client_hello``: ``ClientHelloSpec``, ``client_hello()``, ``sslv2_client_hello()``.
* ``parser``: ``FlightParser`` (sans-I/O, bounded) and the message types; ``TlsParseError``.
* ``registry``: every cipher suite (``all_suites``, ``by_code``, ``by_name``, ``candidates``).
* ``facts``: ``TlsFacts``, ``TlsVersion`` and the part-2 fact types.
"""

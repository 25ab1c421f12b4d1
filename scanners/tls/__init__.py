"""The TLS engine: raw ClientHello probes, version and cipher-suite enumeration, certificate chains.

Public API:

* ``openers.scan_endpoint(endpoint, limiter, options=None) -> TlsFacts``: one XMPP endpoint through
  the connection layer (STARTTLS or Direct TLS); ``openers.endpoint_options(endpoint, **overrides)``.
* ``enumeration.scan_tls(opener, TlsScanOptions) -> TlsFacts``: the engine on any *opener* (an async
  context manager factory yielding ``(reader, writer)`` where TLS starts), e.g. ``openers.tcp_opener``.
* ``client_hello``: ``ClientHelloSpec``, ``client_hello()``, ``sslv2_client_hello()``.
* ``parser``: ``FlightParser`` (sans-I/O, bounded) and the message types; ``TlsParseError``.
* ``registry``: every cipher suite (``all_suites``, ``by_code``, ``by_name``, ``candidates``).
* ``facts``: ``TlsFacts``, ``TlsVersion``.
"""

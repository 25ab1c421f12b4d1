"""The TLS engine: raw ClientHello probes, version and cipher-suite enumeration, certificate chains."""

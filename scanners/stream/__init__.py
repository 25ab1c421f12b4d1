"""XMPP stream negotiation: headers, features, STARTTLS, Direct TLS, SASL before and after TLS."""

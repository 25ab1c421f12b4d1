"""xmpp-observatory: judgment, grading, storage and the web site of the XMPP security scanner."""

__version__ = "0.1.0.dev0"

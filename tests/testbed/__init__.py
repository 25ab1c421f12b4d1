"""The loopback testbed: real Prosody, BIND and unbound instances plus a test PKI, built per test run.

Everything binds to 127.0.0.1 and ::1 only, on ports taken from a configurable base
(``OBSERVATORY_TEST_PORT_BASE``) and probed free before use.
"""

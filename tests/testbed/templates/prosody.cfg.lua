-- One testbed Prosody instance, rendered by tests/testbed/prosody.py (string.Template); every
-- placeholder is already a Lua literal. Variants differ only in the knobs of ProsodyConfig.

-- The tests run as root; without this Prosody would setuid() to a user that cannot read our files.
run_as_root = true
-- A foreground child can be reaped by the fixture; a daemon would outlive the test session.
daemonize = false
pidfile = $pidfile
data_path = $data_path
-- An empty folder: Prosody would otherwise index the folder of this file looking for certificates.
certificates = $certificates_dir
-- stdout is the fixture's log file, so start-up errors and the log end up in one place.
log = { { levels = { min = $log_level }, to = "stdout", timestamps = true } }

-- Loopback only: the testbed must never be reachable from outside the machine.
interfaces = { "127.0.0.1", "::1" }
local_interfaces = { "127.0.0.1", "::1" }
c2s_ports = { $c2s_port }
c2s_direct_tls_ports = { $c2s_direct_port }
s2s_ports = { $s2s_port }
s2s_direct_tls_ports = { $s2s_direct_port }
http_ports = {}
https_ports = {}

-- Names resolve only through the testbed's resolver: libunbound (lua-unbound) forwards there and
-- reads neither /etc/resolv.conf nor /etc/hosts. Without lua-unbound Prosody would fall back to
-- its legacy resolver, which always uses /etc/resolv.conf and port 53, so the fixture refuses that.
-- libunbound answers NXDOMAIN for the RFC 6761 name "test." by itself unless the zone is made
-- transparent ("nodefault" is ignored when set through the library API).
unbound = {
	resolvconf = false;
	hoststxt = false;
	forward = { $dns_forward };
	options = { ["local-zone:"] = "test. transparent" };
}

modules_enabled = $modules_enabled

c2s_require_encryption = $c2s_require_encryption
s2s_require_encryption = $s2s_require_encryption
s2s_secure_auth = $s2s_secure_auth
allow_unencrypted_plain_auth = $allow_unencrypted_plain_auth
authentication = $authentication

tls_profile = $tls_profile
ssl = $ssl

$extra_options

$global_lua

VirtualHost $domain
$extra_hosts

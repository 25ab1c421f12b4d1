"""Regenerate ``dh_primes.json``: ``python scanners/tls/data/generate_dh_primes.py``.

Every prime comes from a source that can be checked, never from digits typed here:

* RFC 7919 (``ffdhe*``), RFC 3526 (``modp_*``) and RFC 5114 (``dh_1024_160``, ``dh_2048_224``,
  ``dh_2048_256``) groups: OpenSSL's built-in named groups, read with
  ``openssl genpkey -genparam -algorithm DH -pkeyopt group:NAME``;
* RFC 2409 groups 1 and 2 (768 and 1024 bits): libcrypto's ``BN_get_rfc2409_prime_768/1024``;
* commonly deployed primes (server defaults, Java's DSA groups, weakdh.org's list of the most used
  ones): testssl.sh's ``etc/common-primes.txt`` (Debian package ``testssl.sh``, from nmap's
  ``ssl-dh-params.nse`` and cryptosense's ``diffie-hellman-groups``), with their labels.

Each number is tested (Miller-Rabin; 16 rounds up to 4096 bits, 4 above) and the result kept:
one deployed "prime" is composite (socat's, CVE-2016-2217), and an RFC group that failed would
stop the script. Whether a prime is safe ((p-1)/2 prime too) is recorded as well. An entry in
both lists keeps its RFC name and gains the common label. Run it with the system ``openssl``
(3.0+) and testssl.sh installed.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
import random
import subprocess
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("dh_primes.json")
COMMON_PRIMES = Path("/etc/testssl/common-primes.txt")

OPENSSL_GROUPS = {
    "ffdhe2048": "RFC 7919",
    "ffdhe3072": "RFC 7919",
    "ffdhe4096": "RFC 7919",
    "ffdhe6144": "RFC 7919",
    "ffdhe8192": "RFC 7919",
    "modp_1536": "RFC 3526",
    "modp_2048": "RFC 3526",
    "modp_3072": "RFC 3526",
    "modp_4096": "RFC 3526",
    "modp_6144": "RFC 3526",
    "modp_8192": "RFC 3526",
    "dh_1024_160": "RFC 5114",
    "dh_2048_224": "RFC 5114",
    "dh_2048_256": "RFC 5114",
}
RFC2409 = {"modp_768": "BN_get_rfc2409_prime_768", "modp_1024": "BN_get_rfc2409_prime_1024"}
#: RFC 2409's generator for both groups.
RFC2409_GENERATOR = 2


def probably_prime(n: int) -> bool:
    rounds = 16 if n.bit_length() <= 4096 else 4
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    rng = random.Random(n)  # deterministic, so regenerating gives the same file
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def openssl_group(name: str) -> tuple[int, int]:
    pem = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{name}"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    der = base64.b64decode("".join(line for line in pem.splitlines() if not line.startswith("-----")))
    # PKCS#3 DHParameter and X9.42 DomainParameters both begin SEQUENCE { p INTEGER, g INTEGER, ... }.
    body, _ = _der(der, 0, 0x30)
    prime, position = _der(body, 0, 0x02)
    generator, _ = _der(body, position, 0x02)
    return int.from_bytes(prime, "big"), int.from_bytes(generator, "big")


def _der(data: bytes, position: int, tag: int) -> tuple[bytes, int]:
    """The contents of the DER element of ``tag`` at ``position``, and the position after it."""
    if data[position] != tag:
        raise ValueError(f"expected DER tag {tag:#x} at {position}")
    length, position = data[position + 1], position + 2
    if length & 0x80:
        size = length & 0x7F
        length, position = int.from_bytes(data[position : position + size], "big"), position + size
    return data[position : position + length], position + length


def rfc2409_prime(function: str) -> int:
    libcrypto = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
    getter = getattr(libcrypto, function)
    getter.restype = ctypes.c_void_p
    getter.argtypes = [ctypes.c_void_p]
    to_hex = libcrypto.BN_bn2hex
    to_hex.restype = ctypes.c_void_p
    to_hex.argtypes = [ctypes.c_void_p]
    bignum = getter(None)
    text = ctypes.cast(to_hex(bignum), ctypes.c_char_p).value
    assert text is not None
    return int(text, 16)


def common_primes() -> list[tuple[str, int]]:
    """(label, prime) from testssl.sh's list: a ``# "label"`` line, then the prime in hex."""
    found, label = [], None
    for line in COMMON_PRIMES.read_text().splitlines():
        line = line.strip()
        if line.startswith('# "') or line.startswith('"'):
            label = line.lstrip("# ").strip('"')
        elif line and not line.startswith("#") and label is not None:
            found.append((label, int(line, 16)))
            label = None
    return found


def main() -> None:
    entries: dict[int, dict[str, object]] = {}
    for name, source in OPENSSL_GROUPS.items():
        prime, generator = openssl_group(name)
        entries[prime] = {"name": name, "source": source, "generator": generator}
    for name, function in RFC2409.items():
        entries[rfc2409_prime(function)] = {"name": name, "source": "RFC 2409", "generator": RFC2409_GENERATOR}
    for label, prime in common_primes():
        entry = entries.setdefault(prime, {"name": None, "source": None, "generator": None})
        entry.setdefault("common", label)
        entry["common"] = entry.get("common") or label
    rows = []
    for prime, entry in entries.items():
        is_prime = probably_prime(prime)
        if not is_prime and entry["source"] is not None:
            raise SystemExit(f"not prime: {entry}")
        generator = entry["generator"]
        rows.append(
            {
                "name": entry["name"],
                "source": entry["source"],
                "common": entry.get("common"),
                "bits": prime.bit_length(),
                "is_prime": is_prime,
                "safe": is_prime and probably_prime((prime - 1) // 2),
                "generator": None if generator is None else format(generator, "x"),
                "prime": format(prime, "x"),
            }
        )
    rows.sort(key=lambda row: (row["source"] is None, row["bits"], row["name"] or "", row["common"] or ""))
    OUTPUT.write_text("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
    sys.stdout.write(f"{len(rows)} primes written to {OUTPUT}\n")


if __name__ == "__main__":
    main()

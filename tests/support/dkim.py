"""DKIM for tests: keys made here, signatures by dkimpy, and a DNS that knows only our keys.

`KEYS.resolve` is the lookup the test app verifies signatures with, so no test asks the
network for a key.
"""

from __future__ import annotations

import base64

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The authserv-id the test app trusts, as a receiving server would write it.
TRUSTED_AUTHSERV_ID = "mx.meetbot.example"
SELECTOR = b"test2026"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"content-type"]


class DkimKeys:
    """Signing keys per domain, made on first use, and their DNS TXT records."""

    def __init__(self) -> None:
        self._private: dict[str, bytes] = {}
        self._records: dict[bytes, bytes] = {}

    def _key(self, domain: str) -> bytes:
        if domain not in self._private:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._private[domain] = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
            public = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            name = SELECTOR + b"._domainkey." + domain.encode() + b"."
            self._records[name] = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        return self._private[domain]

    def sign(self, raw: bytes, domain: str) -> bytes:
        """Return the message with a DKIM-Signature of the domain on top, as its server adds."""
        signature = dkim.sign(
            raw,
            SELECTOR,
            domain.encode(),
            self._key(domain),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=SIGNED_HEADERS,
        )
        return bytes(signature) + raw

    def resolve(self, name: bytes) -> bytes | None:
        """Return the TXT record of a name: only keys made here exist."""
        wanted = name if name.endswith(b".") else name + b"."
        return self._records.get(wanted.lower())


KEYS = DkimKeys()


def authentication_results(domain: str, authserv_id: str = TRUSTED_AUTHSERV_ID) -> bytes:
    """Return the header a receiving server adds after a DKIM signature of `domain` passed."""
    return (
        f"Authentication-Results: {authserv_id};\r\n"
        f"\tdkim=pass (2048-bit key) header.d={domain} header.s=test2026;\r\n"
        f"\tspf=pass smtp.mailfrom={domain}\r\n"
    ).encode()

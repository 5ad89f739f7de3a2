"""Sealing secrets kept in the database: AES-GCM under keys derived from the master key.

A sealed value reads `s1:<base64 of nonce + ciphertext>`. The prefix names the format, so
values written by earlier versions (plaintext) are told apart and sealed on start-up, and a
later format can come beside this one. Every value is sealed for one place (the purpose and
the row it belongs to, as associated data): a ciphertext moved to another row or column does
not open. Pure: no database, no settings.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "s1:"
NONCE_BYTES = 12
# Labels of the keys derived from the master key; a label never changes once released.
_SEALING_LABEL = b"meetbot sealing v1"
_LINK_LABEL = b"meetbot guest links v1"


class CannotOpen(Exception):
    """A sealed value does not open with this key for this place (wrong key, or moved)."""


def derive_key(master: str, label: bytes, length: int = 32) -> bytes:
    """Return the key for one use of the master key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(
        master.encode()
    )


def is_sealed(value: str) -> bool:
    """Tell whether a stored value is sealed (rather than plaintext from an earlier version)."""
    return value.startswith(SEALED_PREFIX)


class Sealer:
    """Seal and open strings for a place, under the key derived from the master key."""

    def __init__(self, master: str) -> None:
        self._aead = AESGCM(derive_key(master, _SEALING_LABEL))
        # The guest-link key never sits in the database: any process rebuilds it from here.
        self.link_key = derive_key(master, _LINK_LABEL).hex()

    def seal(self, value: str, place: str) -> str:
        """Return the value sealed for a place (a fresh nonce each time)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), place.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def seal_once(self, value: str, place: str) -> str:
        """Return the value sealed, leaving one that already is as it is."""
        return value if is_sealed(value) else self.seal(value, place)

    def open(self, stored: str, place: str) -> str:
        """Return a stored value in plaintext; plaintext of earlier versions comes back as is.

        Raises CannotOpen when the value was sealed with another key or for another place.
        """
        if not is_sealed(stored):
            return stored
        text = stored.removeprefix(SEALED_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            opened = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], place.encode())
        except (InvalidTag, ValueError, binascii.Error) as error:
            raise CannotOpen(place) from error
        return opened.decode()

    def open_optional(self, stored: str | None, place: str) -> str | None:
        """Return `open` of a value that may be missing."""
        return None if stored is None else self.open(stored, place)

    def seal_optional(self, value: str | None, place: str) -> str | None:
        """Return `seal_once` of a value that may be missing."""
        return None if value is None else self.seal_once(value, place)

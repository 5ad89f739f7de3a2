"""Guest answer links: unguessable tokens that are stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_salt() -> str:
    """Return 128 fresh random bits, hex-encoded, to derive one attendee's token from."""
    return secrets.token_hex(16)


def hash_token(token: str) -> str:
    """Return the hash under which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenMinter:
    """Derive each guest's link token from a per-attendee salt and the installation's link key.

    The salt gives every token 128 random bits; the key means a copy of the database
    alone does not reveal working links, while any process can rebuild a guest's link
    for a later e-mail without the token ever being stored. Links minted under an earlier
    key (before an upgrade) are rebuilt with that key: the stored hash says which.
    """

    def __init__(self, link_key: str, *earlier_keys: str) -> None:
        self._keys = [key.encode() for key in (link_key, *earlier_keys)]

    def token_for(self, salt: str, token_hash: str | None = None) -> str:
        """Return the link token of the attendee holding this salt (and this stored hash)."""
        tokens = (self._token(key, salt) for key in self._keys)
        if token_hash is not None:
            for token in tokens:
                if hmac.compare_digest(hash_token(token), token_hash):
                    return token
        return self._token(self._keys[0], salt)

    @staticmethod
    def _token(key: bytes, salt: str) -> str:
        digest = hmac.new(key, salt.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

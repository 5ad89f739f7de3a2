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
    """Derive each guest's link token from a per-attendee salt and the installation key.

    The salt gives every token 128 random bits; the key means a copy of the database
    alone does not reveal working links, while any process can rebuild a guest's link
    for a later e-mail without the token ever being stored.
    """

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()

    def token_for(self, salt: str) -> str:
        """Return the link token of the attendee holding this salt."""
        digest = hmac.new(self._key, salt.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

"""Whether a message really comes from the domain its From: names.

Two kinds of evidence count. A DKIM signature Meetbot verifies itself (dkimpy; the DNS
lookup is injectable so tests resolve their own keys), and the `Authentication-Results`
header a mail server Meetbot trusts put on top of the message (`MEETBOT_TRUSTED_AUTHSERV_ID`)
saying dkim=pass or dmarc=pass. Everything here is blocking: run it off the event loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dkim
import dkim.dnsplug

logger = logging.getLogger(__name__)

# A DNS TXT lookup: the record's text for a name, or None.
Resolver = Callable[[bytes], bytes | None]
# Signatures looked at per message: each may cost a DNS lookup.
MAX_SIGNATURES = 3
DKIM_KEY_BITS = 1024
# A comment in a structured header: `(...)`, not nested further than servers write them.
_COMMENT = re.compile(r"\([^()]*\)")
_PROPERTY = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


def dns_txt(name: bytes) -> bytes | None:
    """Return a DNS TXT record's text (DKIM keys), looked up through the system's resolver."""
    text = dkim.dnsplug.get_txt(name, timeout=5)
    return text if isinstance(text, bytes) else None


@dataclass(frozen=True)
class Authentication:
    """The domains a message is shown to come from."""

    # Domains (d=) of DKIM signatures that verify, by Meetbot or a trusted server.
    dkim_domains: frozenset[str] = frozenset()
    # From: domains a trusted server found to pass DMARC.
    dmarc_domains: frozenset[str] = frozenset()

    def vouches_for(self, address: str) -> bool:
        """Tell whether the evidence covers mail from this address's domain."""
        domain = address.rpartition("@")[2].lower()
        if not domain:
            return False
        return domain in self.dmarc_domains or any(
            aligned(signer, domain) for signer in self.dkim_domains
        )


def aligned(signer: str, domain: str) -> bool:
    """Tell whether a signing domain is the From domain or one above or below it (relaxed)."""
    if "." not in signer or "." not in domain:
        return False
    return signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)


def authenticate(
    raw: bytes,
    results: Sequence[str],
    *,
    resolver: Resolver | None,
    trusted_authserv_id: str | None,
) -> Authentication:
    """Return what vouches for a message: its DKIM signatures and trusted results."""
    dkim_domains = set(verified_signers(raw, resolver)) if resolver is not None else set()
    dmarc_domains: set[str] = set()
    if trusted_authserv_id:
        for method, result, properties in trusted_results(results, trusted_authserv_id):
            if result != "pass":
                continue
            if method == "dkim":
                signer = properties.get("header.d") or properties.get("header.i", "")
                signer = signer.rpartition("@")[2]
                if signer:
                    dkim_domains.add(signer)
            elif method == "dmarc" and properties.get("header.from"):
                dmarc_domains.add(properties["header.from"].rpartition("@")[2])
    return Authentication(frozenset(dkim_domains), frozenset(dmarc_domains))


def verified_signers(raw: bytes, resolver: Resolver) -> list[str]:
    """Return the domains of the message's DKIM signatures that verify."""
    signers: list[str] = []
    try:
        checker = dkim.DKIM(raw, minkey=DKIM_KEY_BITS)
        count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    except Exception:  # dkimpy refuses what it cannot parse in many ways
        logger.debug("no readable DKIM headers", exc_info=True)
        return signers
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            if not checker.verify(index, dnsfunc=_lookup(resolver)):
                continue
        except Exception:  # a broken signature or key is a signature that does not verify
            logger.debug("DKIM signature %s does not verify", index, exc_info=True)
            continue
        # A body length limit (l=) lets anyone append a part the signer never saw.
        if b"l" in checker.signature_fields:
            continue
        domain = checker.domain
        if isinstance(domain, bytes):
            signers.append(domain.decode("ascii", "replace").lower().rstrip("."))
    return signers


def _lookup(resolver: Resolver) -> Callable[..., bytes | None]:
    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        return resolver(name.encode() if isinstance(name, str) else name)

    return dnsfunc


def trusted_results(
    results: Sequence[str], authserv_id: str
) -> list[tuple[str, str, dict[str, str]]]:
    """Return (method, result, properties) from the topmost results our own server added.

    Headers of other servers above ours (later hops inside the organization) are passed
    over; below the first run of ours nothing counts, and within it the topmost verdict
    for each method wins, so a verdict the sender wrote into the message is never the
    one believed where our server gave its own.
    """
    found: list[tuple[str, str, dict[str, str]]] = []
    decided: set[str] = set()
    in_ours = False
    for header in results:
        parts = _COMMENT.sub(" ", " ".join(header.split())).split(";")
        words = parts[0].split()
        if not words or words[0].lower() != authserv_id.lower():
            if in_ours:
                break
            continue
        in_ours = True
        verdicts: dict[str, tuple[str, str, dict[str, str]]] = {}
        for resinfo in parts[1:]:
            pairs = _PROPERTY.findall(resinfo)
            if not pairs:
                continue
            method, result = pairs[0][0].lower(), pairs[0][1].strip('"').lower()
            properties = {k.lower(): v.strip('"').lower() for k, v in pairs[1:]}
            if method not in decided:
                found.append((method, result, properties))
                verdicts[method] = (method, result, properties)
        decided.update(verdicts)
    return found

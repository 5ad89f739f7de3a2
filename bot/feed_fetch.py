"""Downloading a member's calendar feed without letting its address reach inside our network."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

IPAddress = IPv4Address | IPv6Address

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# The answer headers the feed service keeps: the version of the feed and how long to cache it.
KEPT_HEADERS = ("ETag", "Last-Modified", "Cache-Control")
SHARED_ADDRESS_SPACE = ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64 = ip_network("64:ff9b::/96")


class FeedUnreadable(Exception):
    """A feed could not be downloaded; the message is for the log, never for the feed's owner."""


class FeedRefused(FeedUnreadable):
    """A feed's address, or one it redirected to, is not on the public internet."""


class FeedTooLarge(Exception):
    """A feed's body is larger than Meetbot reads."""


class HostResolver(Protocol):
    """Turns a host name into the addresses a connection to it may use."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Return the addresses of a host name."""
        ...


class SystemResolver:
    """Resolve names the way the operating system does (DNS, /etc/hosts)."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Return the addresses of a host name."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses: list[IPAddress] = []
        for *_, sockaddr in infos:
            address = ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


def refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Return why Meetbot will not fetch a feed from an address, or None when it may."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(address)
        if embedded is not None and (why := refusal(embedded, allow_private=allow_private)):
            return f"{why} inside an IPv6 address"
    # Never, not even for a calendar on the premises: the cloud's metadata service lives on
    # link-local addresses, and the others are no server's.
    for why, refused in (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved and not address.is_loopback),
        ("site-local", isinstance(address, IPv6Address) and address.is_site_local),
    ):
        if refused:
            return why
    if allow_private:
        return None
    for why, refused in (
        ("loopback", address.is_loopback),
        ("shared (CGNAT)", address.version == 4 and address in SHARED_ADDRESS_SPACE),
        ("private", address.is_private),
        ("not public", not address.is_global),
    ):
        if refused:
            return why
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def for_log(url: str | URL) -> str:
    """Return a feed's address fit for the log: its scheme, host and port."""
    # Not the path: Google and Outlook put the feed's secret there; others in the query.
    parts = URL(url) if isinstance(url, str) else url
    host = parts.raw_host or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.explicit_port}" if parts.explicit_port else ""
    return f"{parts.scheme}://{host}{port}/…"


@dataclass(frozen=True)
class FetchLimits:
    """How much of a feed Meetbot reads, and how long it waits for it."""

    max_bytes: int = 5 * 1024 * 1024
    total_seconds: float = 60.0
    connect_seconds: float = 10.0
    read_seconds: float = 15.0
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: its body (None when unchanged since the version we have) and headers."""

    body: bytes | None
    headers: Mapping[str, str]


class _PinnedResolver(AbstractResolver):
    """Gives aiohttp only the addresses that were checked, so nothing is looked up twice."""

    def __init__(self) -> None:
        self._pinned: dict[str, list[IPAddress]] = {}

    def pin(self, host: str, addresses: list[IPAddress]) -> None:
        self._pinned[host] = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pinned.get(host)
        if not addresses:
            raise OSError(f"{host} was not checked before connecting")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET if address.version == 4 else socket.AF_INET6,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
            if family == socket.AF_UNSPEC or (family == socket.AF_INET) == (address.version == 4)
        ]

    async def close(self) -> None:
        self._pinned.clear()


class FeedFetcher:
    """Download feeds from public addresses only, checking every redirect, within limits."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        allow_private: bool = False,
        resolver: HostResolver | None = None,
    ) -> None:
        self._limits = limits or FetchLimits()
        self._allow_private = allow_private
        self._resolver: HostResolver = resolver or SystemResolver()

    async def fetch(self, url: str, headers: Mapping[str, str]) -> Fetched:
        """Download a feed, following its redirects; raise FeedUnreadable or FeedTooLarge."""
        limits = self._limits
        pinned = _PinnedResolver()
        try:
            async with (
                asyncio.timeout(limits.total_seconds),
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(resolver=pinned, use_dns_cache=False),
                    timeout=aiohttp.ClientTimeout(
                        total=None,
                        sock_connect=limits.connect_seconds,
                        sock_read=limits.read_seconds,
                    ),
                    cookie_jar=aiohttp.DummyCookieJar(),
                ) as http,
            ):
                target = URL(url)
                for _ in range(limits.max_redirects + 1):
                    pinned.pin(*await self._checked(target))
                    async with http.get(target, headers=headers, allow_redirects=False) as answer:
                        if answer.status in REDIRECTS:
                            target = _redirect_target(target, answer)
                            continue
                        if answer.status == 304:
                            return Fetched(None, _kept(answer))
                        if not 200 <= answer.status < 300:
                            raise FeedUnreadable(f"{for_log(target)} answered {answer.status}")
                        return Fetched(await _body(answer, limits.max_bytes), _kept(answer))
                raise FeedUnreadable(f"more than {limits.max_redirects} redirects")
        except aiohttp.ClientError as error:
            raise FeedUnreadable(_why(error, url)) from error
        except TimeoutError as error:
            raise FeedUnreadable(f"no whole answer within {limits.total_seconds:g} s") from error
        except (OSError, ValueError) as error:
            raise FeedUnreadable(_why(error, url)) from error

    async def _checked(self, target: URL) -> tuple[str, list[IPAddress]]:
        """Return a host and the addresses it may be reached at, or raise FeedRefused."""
        host = target.raw_host
        if target.scheme not in ("http", "https") or not host:
            raise FeedRefused(f"not a web address: {for_log(target)}")
        try:
            addresses: list[IPAddress] = [ip_address(host)]
        except ValueError:
            if host.replace(".", "").isdigit():
                # 2130706433, 127.1, 0177.0.0.1: clients read these differently; none is a host
                # name a calendar provider gives out.
                raise FeedRefused(f"a numeric host in an unusual form: {host}") from None
            try:
                addresses = await self._resolver.resolve(host, target.port or 0)
            except OSError as error:
                raise FeedUnreadable(f"{host} could not be resolved: {error}") from error
        reasons = {a: refusal(a, allow_private=self._allow_private) for a in addresses}
        allowed = [address for address, why in reasons.items() if why is None]
        if not allowed:
            said = ", ".join(f"{address} ({why})" for address, why in reasons.items())
            raise FeedRefused(f"{for_log(target)} is at {said or 'no address'}")
        return host, allowed


def _why(error: Exception, url: str) -> str:
    """Say what went wrong without quoting the address: some messages quote it, secret and all."""
    said = f"{type(error).__name__} on {for_log(url)}"
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ClientPayloadError):
        said += f": {error}"  # these name only host and port, or the broken body
    return said


def _redirect_target(current: URL, answer: aiohttp.ClientResponse) -> URL:
    location = answer.headers.get("Location")
    if not location:
        raise FeedUnreadable(f"{for_log(current)} answered {answer.status} without a Location")
    return current.join(URL(location))


def _kept(answer: aiohttp.ClientResponse) -> dict[str, str]:
    return {name: answer.headers[name] for name in KEPT_HEADERS if name in answer.headers}


async def _body(answer: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read a whole body, chunk by chunk, refusing it once it passes max_bytes."""
    if answer.content_length is not None and answer.content_length > max_bytes:
        raise FeedTooLarge(f"announced {answer.content_length} bytes, more than {max_bytes}")
    body = bytearray()
    async for chunk in answer.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise FeedTooLarge(f"more than {max_bytes} bytes")
    return bytes(body)

"""A calendar address reaches only the public internet, and no more of it than a calendar needs.

The feed server runs on loopback. A public name is given a public address by the test's
resolver, and the test's network carries connections for that address to the loopback
server, so the address check runs as in production: only what it lets through is connected.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import pytest
from aiohttp import web

from bot.app import Meetbot
from bot.feed_fetch import (
    FeedFetcher,
    FeedRefused,
    FeedTooLarge,
    FeedUnreadable,
    FetchLimits,
    IPAddress,
    SystemResolver,
    refusal,
)
from tests.fakes.slack_api import FakeSlack
from tests.support.network import free_port
from tests.support.signed import SlackSender
from tests.test_calendar_feeds import (
    NEUTRAL,
    connect,
    feed_failures,
    three_megabytes,
    wait_until_read,
)

# A public address no test reaches: the network below carries it to the loopback server.
PUBLIC = "93.184.215.14"
CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@dataclass
class Names:
    """The names a test gives out; `localhost` is left to the operating system."""

    names: dict[str, list[str]]
    asked: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Return the addresses given to a name."""
        self.asked.append(host)
        if host in self.names:
            return [ip_address(a) for a in self.names[host]]
        if host == "localhost":
            return await SystemResolver().resolve(host, port)
        raise OSError(f"no such name in this test: {host}")


@dataclass
class FeedServer:
    """A feed provider on loopback that can redirect, send a lot, or send slowly."""

    port: int = field(default_factory=free_port)
    body: bytes = b""
    requests: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer as the path asks."""
        self.requests.append(request.path)
        kind = request.path.strip("/").split("/")[0]
        if kind == "redirect":
            raise web.HTTPFound(request.query["to"])
        if kind == "loop":
            raise web.HTTPFound("/loop")
        if kind == "missing":
            raise web.HTTPNotFound()
        if kind == "announced":
            return web.Response(body=b"x" * int(request.query["bytes"]))
        if kind in ("chunked", "trickle", "stall"):
            return await self._stream(request, kind)
        return web.Response(body=CALENDAR, content_type="text/calendar")

    async def _stream(self, request: web.Request, kind: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if kind == "chunked":
            for start in range(0, len(self.body), 64 * 1024):
                await response.write(self.body[start : start + 64 * 1024])
                await asyncio.sleep(0)
        elif kind == "trickle":  # a byte every 0.1 s: never idle, never done
            for _ in range(100):
                await response.write(b"x")
                await asyncio.sleep(0.1)
        else:  # a few bytes, then silence
            await response.write(b"BEGIN:VCALENDAR\r\n")
            await asyncio.sleep(10)
        await response.write_eof()
        return response


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """Serve feeds on loopback."""
    server = FeedServer()
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port).start()
    yield server
    await runner.cleanup()


@pytest.fixture
def connections(no_network: None, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Carry connections to PUBLIC to the loopback server; return every address connected to."""
    guarded = socket.socket.connect
    connected: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        connected.append(address)
        if isinstance(address, tuple) and address[0] == PUBLIC:
            address = ("127.0.0.1", address[1])
        guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return connected


@pytest.fixture
def names() -> Names:
    """Give calendar.example a public address, and some names private ones."""
    return Names(
        {
            "calendar.example": [PUBLIC],
            "intranet.example": ["10.0.0.1"],
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["127.0.0.1", PUBLIC],
        }
    )


def fetcher(names: Names, **limits: Any) -> FeedFetcher:
    """Return a fetcher as deployed by default: public addresses only."""
    return FeedFetcher(FetchLimits(**limits), resolver=names)


async def test_a_public_calendar_is_fetched_at_the_address_that_was_checked(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    fetched = await fetcher(names).fetch(
        f"http://calendar.example:{feed_server.port}/calendar.ics", {}
    )

    assert fetched.body == CALENDAR
    assert names.asked == ["calendar.example"]  # looked up once: no second lookup to connect
    assert connections == [(PUBLIC, feed_server.port)]


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:{port}/calendar.ics",
        "http://localhost:{port}/calendar.ics",
        "http://[::1]:{port}/calendar.ics",
        "http://10.0.0.1/calendar.ics",
        "http://192.168.1.10/calendar.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/calendar.ics",
        "http://2130706433:{port}/calendar.ics",
        "http://127.1:{port}/calendar.ics",
        "http://[::ffff:127.0.0.1]:{port}/calendar.ics",
        "http://[fe80::1]/calendar.ics",
        "http://[fd00::1]/calendar.ics",
        "http://224.0.0.1/calendar.ics",
        "http://0.0.0.0:{port}/calendar.ics",
        "http://240.0.0.1/calendar.ics",
        "http://intranet.example/calendar.ics",
        "http://metadata.example/latest/meta-data/",
    ],
)
async def test_an_address_inside_the_network_is_refused_before_connecting(
    address: str, feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    with pytest.raises(FeedRefused):
        await fetcher(names).fetch(address.format(port=feed_server.port), {})

    assert connections == []
    assert feed_server.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/calendar.ics",
        "http://localhost:{port}/calendar.ics",
        "http://[::1]:{port}/calendar.ics",
        "http://intranet.example/calendar.ics",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_redirect_from_a_public_calendar_into_the_network_is_refused(
    target: str, feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    inside = target.format(port=feed_server.port)
    with pytest.raises(FeedRefused):
        await fetcher(names).fetch(
            f"http://calendar.example:{feed_server.port}/redirect?to={inside}", {}
        )

    assert feed_server.requests == ["/redirect"]
    assert connections == [(PUBLIC, feed_server.port)]


async def test_a_redirect_to_another_public_calendar_is_followed_and_checked(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    names.names["other.example"] = [PUBLIC]
    elsewhere = f"http://other.example:{feed_server.port}/calendar.ics"

    fetched = await fetcher(names).fetch(
        f"http://calendar.example:{feed_server.port}/redirect?to={elsewhere}", {}
    )

    assert fetched.body == CALENDAR
    assert names.asked == ["calendar.example", "other.example"]
    assert feed_server.requests == ["/redirect", "/calendar.ics"]


async def test_a_name_with_a_private_address_too_is_reached_only_at_its_public_one(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    fetched = await fetcher(names).fetch(
        f"http://mixed.example:{feed_server.port}/calendar.ics", {}
    )

    assert fetched.body == CALENDAR
    assert connections == [(PUBLIC, feed_server.port)]


async def test_endless_redirects_are_given_up(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    with pytest.raises(FeedUnreadable, match="more than 5 redirects"):
        await fetcher(names).fetch(f"http://calendar.example:{feed_server.port}/loop", {})

    assert len(feed_server.requests) == 6


async def test_on_the_premises_private_addresses_are_read_but_never_link_local_ones(
    feed_server: FeedServer, names: Names
) -> None:
    on_premises = FeedFetcher(allow_private=True, resolver=names)

    fetched = await on_premises.fetch(f"http://127.0.0.1:{feed_server.port}/calendar.ics", {})
    assert fetched.body == CALENDAR
    with pytest.raises(FeedRefused):
        await on_premises.fetch("http://169.254.169.254/latest/meta-data/", {})
    with pytest.raises(FeedRefused):
        await on_premises.fetch(f"http://[::ffff:127.0.0.1]:{feed_server.port}/", {})


async def test_a_3_mb_feed_in_many_chunks_is_read_whole(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    body = three_megabytes(datetime.now(UTC)).encode()
    feed_server.body = body

    fetched = await fetcher(names).fetch(
        f"http://calendar.example:{feed_server.port}/chunked/feed.ics", {}
    )

    assert fetched.body == body


async def test_a_feed_over_the_cap_is_refused_whether_or_not_it_says_its_size(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    feed_server.body = b"x" * 1_500_000
    small = fetcher(names, max_bytes=1_000_000)
    base = f"http://calendar.example:{feed_server.port}"

    with pytest.raises(FeedTooLarge):
        await small.fetch(f"{base}/chunked/feed.ics", {})
    with pytest.raises(FeedTooLarge):
        await small.fetch(f"{base}/announced?bytes=1500000", {})
    assert (await small.fetch(f"{base}/announced?bytes=1000000", {})).body == b"x" * 1_000_000


async def test_a_sender_that_goes_quiet_or_never_finishes_is_given_up(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    impatient = fetcher(names, read_seconds=0.3, total_seconds=1.0)
    base = f"http://calendar.example:{feed_server.port}"
    loop = asyncio.get_running_loop()

    started = loop.time()
    with pytest.raises(FeedUnreadable, match=r"TimeoutError on http://calendar\.example"):
        await impatient.fetch(f"{base}/stall", {})
    assert loop.time() - started < 0.9

    started = loop.time()
    with pytest.raises(FeedUnreadable, match="no whole answer within 1 s"):
        await impatient.fetch(f"{base}/trickle", {})
    assert loop.time() - started < 1.5


async def test_what_is_logged_of_a_failure_holds_no_part_of_the_secret_address(
    feed_server: FeedServer, names: Names, connections: list[Any]
) -> None:
    secret = f"http://calendar.example:{feed_server.port}/missing/private-abc123/basic.ics?k=s3cret"

    with pytest.raises(FeedUnreadable) as failure:
        await fetcher(names).fetch(secret, {})

    assert str(failure.value) == f"http://calendar.example:{feed_server.port}/… answered 404"


async def test_by_default_meetbot_never_fetches_a_calendar_inside_its_network(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, feed_server: FeedServer
) -> None:
    assert not meetbot.settings.feeds_allow_private

    await connect(sender, slack, f"http://127.0.0.1:{feed_server.port}/admin")
    await wait_until_read(meetbot, failed=True)
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()

    assert feed_server.requests == []
    assert feed_failures(slack) == [f"Meetbot could not read your connected calendar: {NEUTRAL}"]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to listen on
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address"),
        ("::ffff:8.8.8.8", "an IPv4-mapped IPv6 address"),
        ("2002:7f00:1::", "loopback inside an IPv6 address"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private inside an IPv6 address"),  # NAT64 around 10.0.0.1
        ("192.0.2.1", "private"),  # documentation
        (PUBLIC, None),
        ("2606:4700::1111", None),
    ],
)
def test_which_addresses_are_refused(address: str, why: str | None) -> None:
    parsed: IPv4Address | IPv6Address = ip_address(address)
    assert refusal(parsed) == why


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", None),
        ("10.0.0.1", None),
        ("100.64.0.1", None),
        ("fd00::1", None),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("::ffff:10.0.0.1", "an IPv4-mapped IPv6 address"),
    ],
)
def test_which_addresses_are_refused_on_the_premises(address: str, why: str | None) -> None:
    assert refusal(ip_address(address), allow_private=True) == why

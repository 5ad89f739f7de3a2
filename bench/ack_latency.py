#!/usr/bin/env python
"""How fast does Meetbot answer `/meet`, next to a bare Bolt app served the same way?

    python bench/ack_latency.py [--requests 300] [--concurrency 100] [--runs 5] [--warmup 30]

For every signed `/meet` request this measures, from the moment the request is sent:

  ack        until the app's HTTP response has been received (Slack wants it within 3 s);
  views.open until the app's `views.open` for that request's trigger_id reaches "Slack"
             (a timing proxy in front of the fake Web API): the modal appears.

Three targets take turns, `--runs` times (each run: every target in turn):

  bolt floor (ack)   a bare `AsyncApp` whose /meet listener only acks;
  bolt floor (open)  a bare `AsyncApp` that acks, then calls views.open with a tiny modal;
  meetbot            the real app (`bot.app.Meetbot`) on a SQLite file in a temp folder.

The floors are built and served exactly as Meetbot serves Bolt (same `AsyncApp` options,
same aiohttp adapter calls, same aiohttp server), so meetbot / floor is what Meetbot's
own code costs. The goal (ack p99 at most 1.3x the ack-only floor's, the median of the
runs' ratios) is printed beside the ratio; the bench exits non-zero when it is missed.
The app under test and the load generator share this process; the tests'
fake Slack runs in a child process, behind a timing proxy in another, so the fake's strict,
CPU-hungry Block Kit validation is charged neither to the app nor to views.open arrival
times. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tests' fakes and helpers are imported from the repo root

import aiohttp  # noqa: E402
import shared  # noqa: E402  (bench/shared.py, beside this script)
from aiohttp import web  # noqa: E402
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request  # noqa: E402
from slack_bolt.app.async_app import AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from bot.app import Meetbot  # noqa: E402
from bot.heap import freeze_start_up_objects  # noqa: E402
from tests.conftest import ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402
from tests.support.network import free_port  # noqa: E402
from tests.support.signed import SlackSender  # noqa: E402

SLACK_ACK_LIMIT_S = 3.0
ACK_TIMEOUT_S = 10.0  # give up on one request's HTTP answer after this long
OPEN_TIMEOUT_S = 10.0  # ... and on a burst's views.open calls this long after its acks
CHILD_START_TIMEOUT_S = 60.0
FORWARDED_HEADERS = frozenset({"Content-Type", "Authorization", "User-Agent"})
RETURNED_HEADERS = frozenset({"Content-Type", "Retry-After"})
MINIMAL_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "bench_floor",
    "title": {"type": "plain_text", "text": "Bench"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "floor"}}],
}

# Both processes read this clock: CLOCK_MONOTONIC (Linux) / mach time (macOS) /
# QueryPerformanceCounter (Windows) are system-wide, so readings compare across processes.
# `check_clock` verifies that at start-up rather than trusting it.
now = time.monotonic


BenchError = shared.BenchError


# ---------------------------------------------------------------------------
# The fake Slack and a timing proxy in front of it, each in its own process
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """When a views.open reached the timing proxy, and whether the fake refused it."""

    at: float  # now() when the request reached the proxy's handler
    error: str | None


def _trigger_id_in(body: bytes, content_type: str) -> str | None:
    """Find trigger_id in a Web API call's body (JSON or form-encoded)."""
    args: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        if content_type == "application/json":
            decoded = json.loads(body or b"{}")
            if isinstance(decoded, dict):
                args = decoded
        else:
            args = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    value = args.get("trigger_id")
    return value if isinstance(value, str) else None


async def _serve_control(routes: list[web.RouteDef]) -> tuple[web.AppRunner, str]:
    async def clock(_: web.Request) -> web.Response:
        return web.json_response({"now": now()})

    control = web.Application()
    control.add_routes([*routes, web.get("/now", clock)])
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def _until_told_to_stop(conn: Connection) -> None:
    """Any message, or the parent going away (EOF), ends the child."""
    with contextlib.suppress(EOFError, OSError):
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def _serve_fake_slack(conn: Connection) -> None:
    """The tests' FakeSlack, unchanged, plus a control API that issues trigger ids."""
    slack = FakeSlack(team_id=TEAM_ID)
    slack.add_user(
        ORGANIZER, real_name="Olga Organizer", email="olga@acme.example", tz="Europe/Warsaw"
    )
    await slack.start()

    async def triggers(request: web.Request) -> web.Response:
        count = int((await request.json())["count"])
        return web.json_response({"trigger_ids": [slack.new_trigger_id() for _ in range(count)]})

    runner, control_url = await _serve_control([web.post("/triggers", triggers)])
    conn.send(
        (
            "ready",
            {
                "api_url": slack.api_url,
                "response_url_base": slack.response_url_base,
                "bot_token": slack.bot_token,
                "control_url": control_url,
            },
        )
    )
    try:
        await _until_told_to_stop(conn)
    finally:
        await runner.cleanup()
        await slack.stop()


async def _serve_timing_proxy(conn: Connection, fake_api_url: str) -> None:
    """Forward /api/* to the fake; note when each views.open arrives, by trigger_id.

    The fake handles one request at a time and validates every view strictly (about
    2.7 ms for Meetbot's modal), so with many calls in flight a call's turn in the
    fake comes well after it arrived. This proxy does next to nothing per request,
    so its clock reading is when the app's call really got to "Slack".
    """
    arrivals: dict[str, Arrival] = {}
    arrived_signal = asyncio.Condition()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def forward(request: web.Request) -> web.Response:
        arrived = now()
        method = request.match_info["method"]
        body = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED_HEADERS if k in request.headers}
        async with session.request(
            request.method,
            f"{fake_api_url}{method}",
            params=request.query,
            data=body,
            headers=headers,
        ) as answer:
            payload = await answer.read()
            status = answer.status
            back = {k: answer.headers[k] for k in RETURNED_HEADERS if k in answer.headers}
        if method == "views.open":
            trigger_id = _trigger_id_in(body, request.content_type)
            if trigger_id is not None:
                with contextlib.suppress(ValueError):
                    decoded = json.loads(payload)
                    error = None if decoded.get("ok") else str(decoded.get("error"))
                    arrivals.setdefault(trigger_id, Arrival(arrived, error))
                async with arrived_signal:
                    arrived_signal.notify_all()
        return web.Response(body=payload, status=status, headers=back)

    async def take_arrivals(request: web.Request) -> web.Response:
        asked = await request.json()
        wanted = list(asked["trigger_ids"])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(float(asked["timeout"])), arrived_signal:
                await arrived_signal.wait_for(lambda: all(t in arrivals for t in wanted))
        came = {t: arrivals.pop(t) for t in wanted if t in arrivals}
        return web.json_response({t: [a.at, a.error] for t, a in came.items()})

    api = web.Application()
    api.router.add_route("*", "/api/{method}", forward)
    api_runner = web.AppRunner(api, access_log=None)
    await api_runner.setup()
    await web.TCPSite(api_runner, "127.0.0.1", 0).start()
    host, port = api_runner.addresses[0][:2]
    runner, control_url = await _serve_control([web.post("/arrivals", take_arrivals)])
    conn.send(("ready", {"api_url": f"http://{host}:{port}/api/", "control_url": control_url}))
    try:
        await _until_told_to_stop(conn)
    finally:
        await runner.cleanup()
        await api_runner.cleanup()
        await session.close()


def child_process(conn: Connection, role: str, fake_api_url: str) -> None:
    """Entry point of a child process: the fake Slack or the timing proxy."""
    # Ctrl-C reaches the whole process group; the parent decides when children stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if role == "fake":
            asyncio.run(_serve_fake_slack(conn))
        else:
            asyncio.run(_serve_timing_proxy(conn, fake_api_url))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class Child:
    """A child process we started, its control API, and its start-up information."""

    def __init__(self, name: str, info: dict[str, str], session: aiohttp.ClientSession) -> None:
        self.name = name
        self.info = info
        self._control = info["control_url"]
        self._session = session

    async def call(self, method: str, path: str, payload: Any = None) -> Any:
        try:
            async with self._session.request(
                method, f"{self._control}{path}", json=payload
            ) as response:
                response.raise_for_status()
                return await response.json()
        except aiohttp.ClientError as exc:
            raise BenchError(f"the {self.name} process stopped answering ({exc})") from exc

    async def check_clock(self) -> None:
        """Refuse to run if the child's clock readings cannot be compared with ours."""
        before = now()
        theirs = float((await self.call("GET", "/now"))["now"])
        after = now()
        if not before <= theirs <= after:
            raise BenchError(
                f"the {self.name} process's monotonic clock differs from this process's "
                f"({theirs:.6f} not within {before:.6f}..{after:.6f}); views.open times "
                "cannot be measured on this platform"
            )


@contextlib.asynccontextmanager
async def child(
    session: aiohttp.ClientSession,
    role: str,
    name: str,
    fake_api_url: str = "",
) -> AsyncIterator[Child]:
    """Start a child process; yield its handle once it is serving; stop it at the end."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=child_process,
        args=(theirs, role, fake_api_url),
        name=f"bench-{role}",
        daemon=True,
    )
    process.start()
    theirs.close()
    try:
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, ours.poll, CHILD_START_TIMEOUT_S)
        if not ready:
            raise BenchError(f"the {name} process did not start in {CHILD_START_TIMEOUT_S} s")
        try:
            kind, info = ours.recv()
        except EOFError:
            process.join(5)
            raise BenchError(
                f"the {name} process exited at start-up (exit code {process.exitcode})"
            ) from None
        if kind != "ready":
            raise BenchError(f"the {name} process failed to start: {info}")
        handle = Child(name, info, session)
        await handle.check_clock()
        yield handle
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        ours.close()
        process.join(10)
        if process.is_alive():
            process.terminate()  # the child we started, by its own handle
            process.join(5)


class RemoteSlack:
    """The parent's view of "Slack": the timing proxy in front of the fake.

    It has what `make_settings` and `SlackSender` read from a FakeSlack (`api_url`,
    `bot_token`, `response_url_base`), issues triggers (fake) and reports arrivals (proxy).
    """

    def __init__(self, fake: Child, proxy: Child) -> None:
        self.api_url = proxy.info["api_url"]
        self.bot_token = fake.info["bot_token"]
        self.response_url_base = fake.info["response_url_base"]
        self._fake = fake
        self._proxy = proxy

    async def new_trigger_ids(self, count: int) -> list[str]:
        answer = await self._fake.call("POST", "/triggers", {"count": count})
        return list(answer["trigger_ids"])

    async def take_arrivals(self, trigger_ids: list[str], timeout: float) -> dict[str, Arrival]:  # noqa: ASYNC109
        came = await self._proxy.call(
            "POST", "/arrivals", {"trigger_ids": trigger_ids, "timeout": timeout}
        )
        return {t: Arrival(float(at), error) for t, (at, error) in came.items()}


@contextlib.asynccontextmanager
async def remote_slack() -> AsyncIterator[RemoteSlack]:
    """Start the fake Slack and the timing proxy in front of it; stop both at the end."""
    async with aiohttp.ClientSession() as session, contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(child(session, "fake", "fake Slack"))
        proxy = await stack.enter_async_context(
            child(session, "proxy", "timing proxy", fake.info["api_url"])
        )
        yield RemoteSlack(fake, proxy)


# ---------------------------------------------------------------------------
# What is measured
# ---------------------------------------------------------------------------


@dataclass
class Target:
    """An app under measurement, the fake Slack it talks to, and a sender of /meet."""

    name: str
    slack: RemoteSlack
    sender: SlackSender
    opens_modal: bool


@dataclass
class Sample:
    """One request's outcome; ``ack`` and ``opened`` are seconds since it was sent."""

    sent: float = 0.0
    ack: float | None = None
    opened: float | None = None
    error: str | None = None


@dataclass
class Result:
    """Every measured (not warm-up) request of one target."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    def acks(self) -> list[float]:
        return [s.ack for s in self.samples if s.ack is not None and s.error is None]

    def opens(self) -> list[float]:
        return [s.opened for s in self.samples if s.opened is not None and s.error is None]

    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error is not None]


async def send_command(target: Target, user_id: str, trigger_id: str) -> Sample:
    """Send one signed /meet and time its HTTP answer."""
    sample = Sample(sent=now())
    try:
        async with asyncio.timeout(ACK_TIMEOUT_S):
            response = await target.sender.command(user_id, trigger_id=trigger_id)
    except TimeoutError:
        sample.error = f"no HTTP answer within {ACK_TIMEOUT_S:.0f} s"
        return sample
    except (aiohttp.ClientError, OSError) as exc:
        sample.error = f"HTTP request failed: {type(exc).__name__}: {exc}"
        return sample
    sample.ack = now() - sample.sent
    if response.status != 200:
        sample.error = (
            f"app answered HTTP {response.status} after {sample.ack * 1000:.0f} ms: "
            f"{response.text[:200]!r}"
        )
    return sample


async def burst(target: Target, size: int, user_id: str) -> list[Sample]:
    """Fire ``size`` /meet at once; wait for every ack, then for every views.open."""
    # Triggers are single use and expire 3 s after issue: fresh ones for every burst.
    trigger_ids = await target.slack.new_trigger_ids(size)
    samples = list(await asyncio.gather(*(send_command(target, user_id, t) for t in trigger_ids)))
    if not target.opens_modal:
        return samples
    waiting = {t: s for t, s in zip(trigger_ids, samples, strict=True) if s.error is None}
    arrivals = await target.slack.take_arrivals(list(waiting), OPEN_TIMEOUT_S)
    for trigger_id, sample in waiting.items():
        arrival = arrivals.get(trigger_id)
        if arrival is None:
            sample.error = f"no views.open within {OPEN_TIMEOUT_S:.0f} s of the ack"
            continue
        sample.opened = arrival.at - sample.sent
        if arrival.error is not None:
            sample.error = f"fake Slack refused views.open: {arrival.error}"
    return samples


async def run_target(
    target: Target, *, requests: int, concurrency: int, warmup: int, user_id: str
) -> Result:
    """Warm up, then send ``requests`` /meet in bursts of ``concurrency`` fired at once.

    Each burst waits for every ack and views.open before the next one starts, so the
    bursts do not overlap and ``concurrency`` is exactly how many are in flight.
    """
    done = 0
    while done < warmup:
        size = min(concurrency, warmup - done)
        for sample in await burst(target, size, user_id):
            if sample.error is not None:
                raise BenchError(f"{target.name}: a warm-up request failed: {sample.error}")
        done += size

    result = Result(target.name)
    done = 0
    while done < requests:
        size = min(concurrency, requests - done)
        result.samples.extend(await burst(target, size, user_id))
        done += size
    return result


# ---------------------------------------------------------------------------
# The apps
# ---------------------------------------------------------------------------


async def serve_bolt(bolt: AsyncApp, port: int) -> web.AppRunner:
    """Serve ``bolt`` at POST /slack/events exactly as Meetbot does (see bot/app.py)."""

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def bare_bolt(slack: RemoteSlack, *, open_modal: bool) -> AsyncApp:
    """A Bolt app configured like Meetbot's, whose /meet does the least it can."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    if open_modal:

        async def ack_and_open(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=MINIMAL_MODAL)

        bolt.command("/meet")(ack_and_open)
    else:

        async def only_ack(ack: Any) -> None:
            await ack()

        bolt.command("/meet")(only_ack)
    return bolt


def sender_for(app_url: str, slack: RemoteSlack) -> SlackSender:
    # SlackSender only reads `response_url_base` from its slack (trigger ids are passed in).
    return SlackSender(app_url, SIGNING_SECRET, slack, TEAM_ID)  # type: ignore[arg-type]


Starter = Callable[[contextlib.AsyncExitStack, RemoteSlack], Awaitable[Target]]


def floor_target(name: str, *, open_modal: bool) -> Starter:
    async def start(stack: contextlib.AsyncExitStack, slack: RemoteSlack) -> Target:
        port = free_port()
        runner = await serve_bolt(bare_bolt(slack, open_modal=open_modal), port)
        stack.push_async_callback(runner.cleanup)
        return Target(name, slack, sender_for(f"http://127.0.0.1:{port}", slack), open_modal)

    return start


def meetbot_target(workdir: Path) -> Starter:
    async def start(stack: contextlib.AsyncExitStack, slack: RemoteSlack) -> Target:
        mailbox = Mailbox()
        mailbox.start()
        stack.callback(mailbox.stop)
        database_url = f"sqlite+aiosqlite:///{workdir / 'meetbot.db'}"
        # SLACK_APP_TOKEN=None: an app token in the environment would switch to Socket Mode.
        # Background jobs at Meetbot's own defaults: make_settings uses test-speed ones
        # (reminders and feeds every 0.2 s), which no production process runs.
        settings = make_settings(
            database_url,
            slack,  # type: ignore[arg-type]
            mailbox,
            free_port(),
            SLACK_APP_TOKEN=None,
            MEETBOT_OUTBOX_INTERVAL=5.0,
            MEETBOT_REMINDER_INTERVAL=30.0,
            MEETBOT_FEED_INTERVAL=60.0,
        )
        app = Meetbot(settings)
        stack.push_async_callback(app.stop)
        try:
            await app.start()
        except Exception as exc:
            raise BenchError(f"meetbot did not start: {type(exc).__name__}: {exc}") from exc
        freeze_start_up_objects()  # as `meetbot run` does once started
        return Target("meetbot", slack, sender_for(settings.base_url, slack), opens_modal=True)

    return start


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


def summary(values: list[float]) -> list[float]:
    """p50, p99, mean, max, in milliseconds."""
    if not values:
        return [math.nan] * 4
    return [
        shared.percentile(values, 50) * 1000,
        shared.percentile(values, 99) * 1000,
        sum(values) / len(values) * 1000,
        max(values) * 1000,
    ]


def render(ack_floor: Result, open_floor: Result, meetbot: Result, args: argparse.Namespace) -> str:
    """The table: p50/p99/mean/max in ms for ack and views.open, and meetbot / floor."""
    floor_ack, floor_open = summary(ack_floor.acks()), summary(open_floor.opens())
    bot_ack, bot_open = summary(meetbot.acks()), summary(meetbot.opens())

    def ratios(bot: list[float], floor: list[float]) -> list[float]:
        return [b / f if f > 0 else math.nan for b, f in zip(bot, floor, strict=True)]

    def cells(values: list[float], unit: str = "") -> str:
        width = 8 - len(unit)
        return " ".join(f"{'-':>8}" if math.isnan(v) else f"{v:>{width}.2f}{unit}" for v in values)

    head = " ".join(f"{h:>8}" for h in ("p50", "p99", "mean", "max"))
    floor_errors = len(ack_floor.errors()) + len(open_floor.errors())
    return "\n".join(
        [
            f"/meet latency: {args.requests} requests per target, in bursts of "
            f"{args.concurrency} fired at once, after {args.warmup} warm-up requests "
            "(excluded).",
            "",
            f"{'':<13}  {'ack: HTTP answer received, ms':<35}  "
            f"{'views.open reaches Slack, ms':<35}",
            f"{'':<13}  {head}  {head}  errors",
            f"{'bolt floor':<13}  {cells(floor_ack)}  {cells(floor_open)}  {floor_errors:>6}",
            f"{'meetbot':<13}  {cells(bot_ack)}  {cells(bot_open)}  {len(meetbot.errors()):>6}",
            f"{'meetbot/floor':<13}  {cells(ratios(bot_ack, floor_ack), 'x')}  "
            f"{cells(ratios(bot_open, floor_open), 'x')}",
            f"{'(ack+open)':<13}  {cells(summary(open_floor.acks()))}  "
            "<- ack of the floor app that also opens",
            "",
            "bolt floor: ack from a bare Bolt app whose /meet only acks; views.open from a",
            "bare Bolt app that acks, then opens a one-block modal. Same AsyncApp options,",
            "aiohttp adapter and server as meetbot. Slack's limit for the ack: "
            f"{SLACK_ACK_LIMIT_S * 1000:.0f} ms.",
        ]
    )


def verdict(ack_floor: Result, open_floor: Result, meetbot: Result) -> list[str]:
    """Problems that make this run a failure (empty when all is well)."""
    problems = []
    for result in (ack_floor, open_floor, meetbot):
        errors = result.errors()
        if errors:
            kinds: dict[str, str] = {}  # one example per kind of failure (ignoring the ms)
            for error in errors:
                kinds.setdefault(re.sub(r"\d+ ms", "N ms", error), error)
            problems.append(
                f"{result.name}: {len(errors)} of {len(result.samples)} requests failed, e.g. "
                + "; ".join(list(kinds.values())[:3])
            )
    late = [a for a in meetbot.acks() if a >= SLACK_ACK_LIMIT_S]
    if late:
        problems.append(
            f"meetbot: {len(late)} acks took {SLACK_ACK_LIMIT_S:.0f} s or more "
            f"(Slack would show the person an error)"
        )
    return problems


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


GOAL = 1.3  # meetbot's ack p99 at most this many times the ack-only floor's, median of runs


async def measure(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-") as tmp:
        starters = [
            floor_target("bolt floor (ack)", open_modal=False),
            floor_target("bolt floor (open)", open_modal=True),
            meetbot_target(Path(tmp)),
        ]
        runs: list[list[Result]] = []
        async with remote_slack() as slack, contextlib.AsyncExitStack() as stack:
            targets = [await start(stack, slack) for start in starters]
            # Targets take turns, run after run: a noisy moment on the machine falls on all.
            for number in range(1, args.runs + 1):
                results = []
                for target in targets:
                    print(
                        f"run {number}/{args.runs}: measuring {target.name} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    results.append(
                        await run_target(
                            target,
                            requests=args.requests,
                            concurrency=args.concurrency,
                            warmup=args.warmup if number == 1 else 0,
                            user_id=ORGANIZER,
                        )
                    )
                runs.append(results)
    ack_floor, open_floor, meetbot = (
        Result(name, [s for run in runs for s in run[i].samples])
        for i, name in enumerate(("bolt floor (ack)", "bolt floor (open)", "meetbot"))
    )
    print(render(ack_floor, open_floor, meetbot, args), flush=True)
    per_run = [
        summary(run[2].acks())[1] / summary(run[0].acks())[1]
        if summary(run[0].acks())[1] > 0
        else math.nan
        for run in runs
    ]
    median = statistics.median(per_run)
    line, met = shared.against_goal(
        f"ack p99 meetbot/floor at {args.concurrency} concurrent, median of {args.runs} runs",
        median,
        GOAL,
        at_least=False,
    )
    print(line + "  (runs: " + ", ".join(f"{r:.2f}x" for r in per_run) + ")", flush=True)
    print(shared.NOISE_NOTE, flush=True)
    problems = verdict(ack_floor, open_floor, meetbot)
    if not met:
        problems.append(f"ack p99 meetbot/floor {median:.2f}x, goal <= {GOAL}x")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time Meetbot's /meet ack and views.open against a bare Bolt floor."
    )
    parser.add_argument(
        "--requests", type=positive, default=300, help="measured requests per target"
    )
    parser.add_argument(
        "--concurrency", type=positive, default=100, help="requests fired at once in each burst"
    )
    parser.add_argument(
        "--runs", type=positive, default=5, help="runs, targets taking turns (median compared)"
    )
    parser.add_argument(
        "--warmup", type=not_negative, default=30, help="warm-up requests per target (excluded)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return shared.run_main(measure(args))


if __name__ == "__main__":
    sys.exit(main())

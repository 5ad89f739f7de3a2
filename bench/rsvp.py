#!/usr/bin/env python
"""How many guest answers per second does Meetbot record, next to a bare aiohttp handler?

    python bench/rsvp.py [--clients 100] [--seconds 12] [--rounds 3] [--guests 200]
                         [--meetings 10] [--warmup 2] [--postgres URL] [--no-notify]
                         [--keep-rate-limits] [--profile]

Sets up meetings through the real app (`bot.app.Meetbot`, `Meetings.create`) with
"notify me on decision" ticked (unless `--no-notify`), lets the outbox mail the invitations
to a local SMTP server and takes each guest's answer link from their e-mail. Two
scenarios: every answer to ONE meeting of `--guests` guests, and answers SPREAD over
`--meetings` meetings of `--guests / --meetings` guests each. In each, `--clients`
concurrent clients POST answers (each POST changing that guest's answer, then following
the 303 to the page) against:

  bare aiohttp   an `aiohttp.web` app served the same way (AppRunner, TCPSite on 127.0.0.1,
                 no access log) whose POST /rsvp/<token> reads the form and returns a page
                 (the issue's floor, which the goal is measured against);
  bare 303       the same app answering as Meetbot does: the POST redirects (303) to a
                 page, so an answer is two requests (the shape's own ceiling);
  meetbot        the real `POST /rsvp/<token>`.

The load generator runs in a process of its own (so its CPU is not charged to either
server), and floor and Meetbot take turns: `--rounds` rounds of `--seconds / --rounds`
each, so a noisy moment on the shared machine falls on both. Prints POSTs per second,
p50/p99 latency, the ratio beside its goal (>= 0.5x), the outbox backlog after each
Meetbot round, and checks that every link's stored answer is the last one POSTed. Exits
non-zero when the goal is missed, the outbox backlog of redraws grows, or anything failed.
SQLite in a temp folder by default; `--postgres URL` uses a fresh database next to the
one in the URL. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import html
import itertools
import math
import multiprocessing
import re
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tests' fakes and helpers are imported from the repo root

import aiohttp  # noqa: E402
import shared  # noqa: E402  (bench/shared.py, beside this script)
from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import bot.meetings.guest_answers  # noqa: E402
import bot.meetings.rows  # noqa: E402
import bot.meetings.service  # noqa: E402
import bot.outbox.queue  # noqa: E402
import handlers.web  # noqa: E402
from bot.app import Meetbot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.deliveries import DeliveryKind  # noqa: E402
from bot.drafts import MeetingDraft  # noqa: E402
from bot.guests import Guest  # noqa: E402
from bot.heap import freeze_start_up_objects  # noqa: E402
from bot.meetings.model import Organizer  # noqa: E402
from bot.tokens import hash_token  # noqa: E402
from storage.models import Attendee, OutboxEntry  # noqa: E402
from tests.conftest import ORGANIZER, TEAM_ID, make_settings  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.flows import in_days  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402
from tests.support.network import free_port  # noqa: E402

ANSWERS = ("accepted", "declined", "tentative")
RAISED_LIMIT = 1_000_000_000
RATE_NAME = re.compile(r"(^|_)RATE(_|$)")
TOKEN_IN_LINK = re.compile(r"/rsvp/([A-Za-z0-9_-]{16,})")
CHILD_START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
# Meetbot's own defaults for its background jobs (make_settings uses test-speed ones).
PRODUCTION_INTERVALS = {
    "MEETBOT_OUTBOX_INTERVAL": 5.0,
    "MEETBOT_REMINDER_INTERVAL": 30.0,
    "MEETBOT_FEED_INTERVAL": 60.0,
}
FLOOR_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Thank you</title>'
    "</head>\n<body><p>Your answer: <strong>{answer}</strong>.</p>{comment}</body></html>\n"
)

now = time.perf_counter


BenchError = shared.BenchError


# ---------------------------------------------------------------------------
# The fake Slack, in a child process: the outbox redraws the organizer's summary and
# Home tab after every answer, and the fake's strict Block Kit checks would otherwise
# burn this process's CPU (real Slack costs the app only the HTTP call).
# ---------------------------------------------------------------------------


async def _serve_fake_slack(conn: Connection) -> None:
    slack = FakeSlack(team_id=TEAM_ID)
    slack.add_user(
        ORGANIZER, real_name="Olga Organizer", email="olga@acme.example", tz="Europe/Warsaw"
    )
    await slack.start()
    conn.send(("ready", {"api_url": slack.api_url, "bot_token": slack.bot_token}))
    try:
        with contextlib.suppress(EOFError, OSError):
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    finally:
        rejected = [f"{call.method}: {error}" for call, error in slack.rejected()]
        with contextlib.suppress(OSError):
            conn.send(("rejected", rejected))
        await slack.stop()


def slack_child(conn: Connection) -> None:
    """Entry point of the fake Slack's process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        asyncio.run(_serve_fake_slack(conn))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class RemoteSlack:
    """What make_settings reads from a FakeSlack; `rejected` is filled when it stops."""

    api_url: str
    bot_token: str
    rejected: list[str] = field(default_factory=list)


@contextlib.contextmanager
def remote_slack() -> Iterator[RemoteSlack]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=slack_child, args=(theirs,), name="bench-slack", daemon=True)
    process.start()
    slack: RemoteSlack | None = None
    try:
        if not ours.poll(CHILD_START_TIMEOUT_S):
            raise BenchError("the fake Slack process did not start")
        kind, detail = ours.recv()
        if kind != "ready":
            raise BenchError(f"the fake Slack process failed: {detail}")
        slack = RemoteSlack(detail["api_url"], detail["bot_token"])
        yield slack
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
            if ours.poll(10):
                kind, detail = ours.recv()
                if kind == "rejected" and slack is not None:
                    slack.rejected = list(detail)
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


# ---------------------------------------------------------------------------
# The floor: a bare aiohttp handler on the same server stack
# ---------------------------------------------------------------------------


async def floor_redirect(request: web.Request) -> web.Response:
    """Read the form and send the client on to the page, as Meetbot's POST does."""
    form = await request.post()
    answer = html.escape(str(form.get("answer", "")))
    raise web.HTTPSeeOther(f"/rsvp/{request.match_info['token']}/page?answer={answer}")


async def floor_page(request: web.Request) -> web.Response:
    """The page after the redirect: the answer from the query, nothing read."""
    answer = html.escape(request.query.get("answer", ""))
    return web.Response(text=FLOOR_PAGE.format(answer=answer, comment=""), content_type="text/html")


async def floor_answer(request: web.Request) -> web.Response:
    """Read the form and answer with a small HTML page, touching nothing else."""
    form = await request.post()
    answer = html.escape(str(form.get("answer", "")))
    comment = str(form.get("comment", ""))
    shown = f"<p>{html.escape(comment)}</p>" if comment else ""
    return web.Response(
        text=FLOOR_PAGE.format(answer=answer, comment=shown), content_type="text/html"
    )


@contextlib.asynccontextmanager
async def floor_server(*, redirect: bool = False) -> AsyncIterator[str]:
    app = web.Application()
    if redirect:
        app.router.add_post("/rsvp/{token}", floor_redirect)
        app.router.add_get("/rsvp/{token}/page", floor_page)
    else:
        app.router.add_post("/rsvp/{token}", floor_answer)
    runner = web.AppRunner(app, access_log=None)  # as Meetbot serves its pages
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------
# Load: `clients` workers, each POSTing the next link's next answer
# ---------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    status: int | None  # None: no HTTP answer (connection error, timeout)
    size: int = 0


@dataclass
class Result:
    name: str
    samples: list[Sample]
    elapsed: float
    failures: Counter[str] = field(default_factory=Counter)

    def ok(self) -> list[float]:
        return [s.seconds for s in self.samples if s.status == 200]

    def count(self, status: int) -> int:
        return sum(1 for s in self.samples if s.status == status)

    def others(self) -> int:
        return sum(1 for s in self.samples if s.status not in (200, 429))

    def per_second(self) -> float:
        return len(self.ok()) / self.elapsed if self.elapsed > 0 else math.nan

    def mean_size(self) -> float:
        sizes = [s.size for s in self.samples if s.status == 200]
        return sum(sizes) / len(sizes) if sizes else math.nan


def next_answer(current: str) -> str:
    """The answer after `current` in the cycle, so every POST changes the stored answer."""
    return (
        ANSWERS[(ANSWERS.index(current) + 1) % len(ANSWERS)] if current in ANSWERS else ANSWERS[0]
    )


async def load(
    session: aiohttp.ClientSession,
    name: str,
    base_url: str,
    links: deque[str],
    answered: dict[str, str],
    clients: int,
    seconds: float,
) -> Result:
    """POST answers from `clients` workers for `seconds`; in-flight requests then finish.

    A link is taken from the left of `links` and put back on the right when its answer is
    in, so no link is ever answered twice at once (there are at least as many links as
    clients). `answered` holds each link's last answer that got a 200.
    """
    samples: list[Sample] = []
    failures: Counter[str] = Counter()
    numbers = itertools.count(1)
    stop_at = now() + seconds

    async def worker() -> None:
        while now() < stop_at:
            token = links.popleft()
            answer = next_answer(answered.get(token, ""))
            form = {"answer": answer, "comment": f"bench answer {next(numbers)}"}
            started = now()
            status: int | None = None
            size = 0
            try:
                async with session.post(f"{base_url}/rsvp/{token}", data=form) as response:
                    size = len(await response.read())
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures[f"{type(exc).__name__}: {exc}"[:120]] += 1
            samples.append(Sample(now() - started, status, size))
            if status == 200:
                answered[token] = answer
            elif status is not None:
                failures[f"HTTP {status}"] += 1
            links.append(token)

    began = now()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return Result(name, samples, now() - began, failures)


# The load generator's own process: it takes (name, url, links, answered, clients,
# seconds) and sends back the Result and the answers that got a 200.


async def _serve_load(conn: Connection, clients: int) -> None:
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        conn.send(("ready", None))
        while True:
            try:
                order = await loop.run_in_executor(None, conn.recv)
            except (EOFError, OSError):
                return
            if order == "stop":
                return
            name, base_url, tokens, answered, seconds = order
            result = await load(session, name, base_url, deque(tokens), answered, clients, seconds)
            conn.send(("result", (result, answered)))


def load_child(conn: Connection, clients: int) -> None:
    """Entry point of the load generator's process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_serve_load(conn, clients))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class LoadProcess:
    """Runs `load` in a child process and hands back what it measured."""

    def __init__(self, clients: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(
            target=load_child, args=(theirs, clients), name="bench-load", daemon=True
        )
        self._process.start()
        self._receive(CHILD_START_TIMEOUT_S)

    def _receive(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise BenchError("the load generator did not answer")
        kind, detail = self._conn.recv()
        if kind == "error":
            raise BenchError(f"the load generator failed: {detail}")
        return detail

    async def run(
        self, name: str, base_url: str, tokens: list[str], answered: dict[str, str], seconds: float
    ) -> Result:
        self._conn.send((name, base_url, tokens, answered, seconds))
        result, latest = await asyncio.get_running_loop().run_in_executor(
            None, self._receive, seconds + REQUEST_TIMEOUT_S + 30
        )
        answered.update(latest)
        assert isinstance(result, Result)
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)


def merged(results: list[Result]) -> Result:
    """One Result of several rounds: their samples, time and failures added up."""
    total = Result(results[0].name, [], 0.0)
    for result in results:
        total.samples += result.samples
        total.elapsed += result.elapsed
        total.failures.update(result.failures)
    return total


# ---------------------------------------------------------------------------
# Meetbot: settings, the meeting, the links
# ---------------------------------------------------------------------------


def rate_settings() -> list[tuple[str, Any]]:
    """(variable, default) of every integer setting whose name has RATE as a word."""
    found = []
    for name, spec in Settings.model_fields.items():
        alias = spec.alias or name.upper()
        if RATE_NAME.search(alias.upper()) and spec.annotation in (int, float):
            found.append((alias, spec.default))
    return found


def links_in(mailbox: Mailbox) -> list[str]:
    """Each guest's answer token, from the text part of their invitation."""
    tokens = []
    for mail in mailbox.received:
        body = mail.message.get_body(preferencelist=("plain",))
        match = TOKEN_IN_LINK.search(body.get_content() if body is not None else "")
        if match is None:
            raise BenchError(f"no /rsvp/<token> link in the mail to {mail.recipients}")
        tokens.append(match.group(1))
    return tokens


async def create_meeting(app: Meetbot, guests: int, notify: bool) -> int:
    services = app.services
    assert services is not None
    start = in_days(3)
    draft = MeetingDraft(
        title="Town hall",
        start=start,
        end=start + timedelta(hours=1),
        location="Main hall / https://meet.example/townhall",
        description="Quarterly update.\nBring questions.",
        guests=tuple(
            Guest(email=f"guest{n}@client{n % 7}.example", name=f"Guest {n}") for n in range(guests)
        ),
        notify=notify,
    )
    organizer = Organizer(ORGANIZER, "Olga Organizer", "olga@acme.example", "Europe/Warsaw")
    meeting = await services.meetings.create(TEAM_ID, organizer, draft)
    return meeting.id


async def decisions_queued(app: Meetbot, event_ids: list[int]) -> int:
    """Decision notices queued for the events: with notify on, one per changed answer."""
    async with app.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(
                OutboxEntry.event_id.in_(event_ids),
                OutboxEntry.kind == DeliveryKind.DECISION_NOTICE.value,
            )
        )
        return int(count or 0)


@dataclass(frozen=True)
class Backlog:
    """Pending outbox rows: redraws (merged, bounded), decision DMs (Slack's pace), others."""

    redraws: int
    decisions: int
    others: int

    def __str__(self) -> str:
        return f"{self.redraws} redraws, {self.others} others, {self.decisions} decision DMs"


async def backlog(app: Meetbot) -> Backlog:
    async with app.sessions() as session:
        rows = await session.execute(
            select(OutboxEntry.kind, OutboxEntry.redraw_key.is_not(None), func.count())
            .where(OutboxEntry.state == "pending")
            .group_by(OutboxEntry.kind, OutboxEntry.redraw_key.is_not(None))
        )
        redraws = decisions = others = 0
        for kind, is_redraw, count in rows:
            if is_redraw:
                redraws += int(count)
            elif kind == DeliveryKind.DECISION_NOTICE.value:
                decisions += int(count)
            else:
                others += int(count)
        return Backlog(redraws, decisions, others)


async def stored_answers(app: Meetbot, event_ids: list[int]) -> dict[str, str]:
    """token hash -> the answer the database holds."""
    async with app.sessions() as session:
        rows = await session.execute(
            select(Attendee.token_hash, Attendee.response).where(
                Attendee.event_id.in_(event_ids), Attendee.token_hash.is_not(None)
            )
        )
        return {str(token_hash): str(response) for token_hash, response in rows}


# ---------------------------------------------------------------------------
# --profile: where a POST's wall time goes, and cProfile's CPU view
# ---------------------------------------------------------------------------


def breakdown_rows(app: Meetbot) -> list[shared.StepRow]:
    """(label, indent, owner, attribute): the steps of one POST, then the outbox beside it."""
    services = app.services
    assert services is not None
    outbox = services.outbox
    return [
        ("rate limiter (answer_limits.allow_link)", 0, services.answer_limits, "allow_link"),
        ("read the form (request.post)", 0, web.BaseRequest, "post"),
        (
            "meetings.respond_as_guest (queued, group commit)",
            0,
            services.meetings,
            "respond_as_guest",
        ),
        (
            "a SQLite batch: BEGIN IMMEDIATE ... COMMIT (_write_sqlite)",
            1,
            bot.meetings.guest_answers.GuestAnswers,
            "_write_sqlite",
        ),
        ("its statements, lock held (write_batch)", 2, bot.meetings.guest_answers, "write_batch"),
        ("links read in a batch (read_batch)", 1, bot.meetings.guest_answers, "read_batch"),
        ("the page after the 303: guest_link (1 query)", 0, services.meetings, "guest_link"),
        ("render the page (_answer_page)", 0, handlers.web, "_answer_page"),
        (
            "outbox, alongside: claim a batch (UPDATE ... RETURNING)",
            0,
            outbox._queue,
            "claim_batch",
        ),
        (
            "outbox, alongside: mark sent/superseded (batched UPDATE)",
            0,
            bot.outbox.queue.DeliveryMarks,
            "_write",
        ),
        ("outbox, alongside: build blocks + Slack call", 0, outbox, "_deliver_or_build"),
    ]


async def profile_meetbot(
    app: Meetbot,
    loader: LoadProcess,
    tokens: list[str],
    answered: dict[str, str],
    args: argparse.Namespace,
) -> list[str]:
    """Two more meetbot phases, not counted: one with step timers, one under cProfile."""
    base_url = app.settings.base_url
    breakdown = shared.Breakdown()
    rows = breakdown_rows(app)
    print("meetbot: profile phase A (timers) ...", file=sys.stderr, flush=True)
    with shared.instrumented(rows, breakdown):
        timed = await loader.run("meetbot", base_url, tokens, answered, args.seconds / 2)
    print("meetbot: profile phase B (cProfile) ...", file=sys.stderr, flush=True)
    profile = cProfile.Profile()
    profile.enable()
    try:
        profiled = await loader.run("meetbot", base_url, tokens, answered, args.seconds / 2)
    finally:
        profile.disable()
    ok = timed.ok()
    lines = [
        "",
        f"--profile, phase A ({args.seconds / 2:g} s, timers on, not counted above): "
        f"{timed.per_second():.1f} POST/s, mean latency {sum(ok) / max(len(ok), 1) * 1000:.0f} ms.",
        "Wall time per step, awaits included (waiting for the batch, a database lock",
        "or the busy event loop counts where it happens):",
        f"  {'step':<66} {'calls':>7} {'ms/call':>8} {'total s':>8}",
    ]
    for label, indent, _, _ in rows:
        step = breakdown.steps.get(label)
        if step is None:
            continue
        name = "  " * indent + ("- " if indent else "") + label
        lines.append(
            f"  {name:<66} {step.calls:>7} {step.seconds / step.calls * 1000:>8.2f} "
            f"{step.seconds:>8.2f}"
        )
    idle, busiest, top = shared.cpu_by_package(profile, 14)
    lines += [
        "",
        f"--profile, phase B ({args.seconds / 2:g} s under cProfile, {profiled.per_second():.1f} "
        "POST/s): Meetbot's process, main thread",
        f"(the load generator runs in its own process); idle in epoll: {idle:.2f} s.",
        "Own CPU time by package: " + ", ".join(busiest),
        "Top functions by own CPU time:",
        f"  {'tottime':>8} {'cumtime':>8} {'calls':>8}  function",
        *top,
    ]
    return lines


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


def figures(result: Result) -> list[float]:
    """POST/s, then p50, p99, max latency of the 200s in ms."""
    ok = result.ok()
    return [
        result.per_second(),
        shared.percentile(ok, 50) * 1000,
        shared.percentile(ok, 99) * 1000,
        (max(ok) if ok else math.nan) * 1000,
    ]


def table(floor: Result, meetbot: Result, redirected: Result | None = None) -> list[str]:
    head = f"{'':<14} {'POST/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    head += f" {'200':>7} {'429':>6} {'other':>6} {'page B':>7}"

    def row(result: Result) -> str:
        cells = " ".join(f"{v:>8.1f}" for v in figures(result))
        return (
            f"{result.name:<14} {cells} {len(result.ok()):>7} {result.count(429):>6} "
            f"{result.others():>6} {result.mean_size():>7.0f}"
        )

    ratios = [
        b / f if f > 0 else math.nan for b, f in zip(figures(meetbot), figures(floor), strict=True)
    ]
    ratio_cells = " ".join(f"{v:>7.2f}x" for v in ratios)
    lines = [head, row(floor)]
    if redirected is not None:
        lines.append(row(redirected))
    lines += [row(meetbot), f"{'meetbot/floor':<14} {ratio_cells}"]
    if redirected is not None:
        against = [
            b / f if f > 0 else math.nan
            for b, f in zip(figures(meetbot), figures(redirected), strict=True)
        ]
        lines.append(f"{'meetbot/303':<14} " + " ".join(f"{v:>7.2f}x" for v in against))
    return lines


def machine() -> str:
    """Describe this machine and the libraries that matter here."""
    return shared.machine(f"aiohttp {aiohttp.__version__}")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


GOAL = 0.5  # meetbot POST/s at least half the bare handler's


@dataclass
class Scenario:
    """Answers to one set of meetings: its links and what the rounds measured."""

    name: str
    event_ids: list[int]
    tokens: list[str]
    floors: list[Result] = field(default_factory=list)
    redirected: list[Result] = field(default_factory=list)
    meetbots: list[Result] = field(default_factory=list)
    backlogs: list[Backlog] = field(default_factory=list)
    decisions: int = 0


async def interleaved(
    app: Meetbot,
    loader: LoadProcess,
    floor_url: str,
    redirect_url: str,
    scenario: Scenario,
    answered: dict[str, str],
    args: argparse.Namespace,
) -> None:
    """Warm all up, then take turns: floor, bare 303, meetbot, floor, bare 303, meetbot, ..."""
    base_url = app.settings.base_url
    if args.warmup > 0:
        print(f"{scenario.name}: warm-up {args.warmup:g} s each ...", file=sys.stderr, flush=True)
        await loader.run("bare aiohttp", floor_url, scenario.tokens, {}, args.warmup)
        await loader.run("bare 303", redirect_url, scenario.tokens, {}, args.warmup)
        await loader.run("meetbot", base_url, scenario.tokens, answered, args.warmup)
    scenario.backlogs.append(await backlog(app))
    decisions_before = await decisions_queued(app, scenario.event_ids)
    share = args.seconds / args.rounds
    for number in range(1, args.rounds + 1):
        print(
            f"{scenario.name}: round {number}/{args.rounds} ({share:g} s each) ...",
            file=sys.stderr,
            flush=True,
        )
        scenario.floors.append(
            await loader.run("bare aiohttp", floor_url, scenario.tokens, {}, share)
        )
        scenario.redirected.append(
            await loader.run("bare 303", redirect_url, scenario.tokens, {}, share)
        )
        scenario.meetbots.append(
            await loader.run("meetbot", base_url, scenario.tokens, answered, share)
        )
        scenario.backlogs.append(await backlog(app))
    scenario.decisions = await decisions_queued(app, scenario.event_ids) - decisions_before


def report(scenario: Scenario, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The scenario's table, goal line and outbox backlog; and what makes it a failure."""
    floor, meetbot = merged(scenario.floors), merged(scenario.meetbots)
    redirected = merged(scenario.redirected)
    ratio = meetbot.per_second() / floor.per_second() if floor.per_second() > 0 else math.nan
    per_round = [
        m.per_second() / f.per_second() if f.per_second() > 0 else math.nan
        for f, m in zip(scenario.floors, scenario.meetbots, strict=True)
    ]
    goal, met = shared.against_goal("meetbot/floor POST/s", ratio, GOAL, at_least=True)
    lines = [
        f"-- {scenario.name} --",
        *table(floor, meetbot, redirected),
        goal + "  (rounds: " + ", ".join(f"{r:.2f}x" for r in per_round) + ")",
        f"the answer's shape itself (POST, 303, page) against the floor: bare 303/floor "
        f"{redirected.per_second() / floor.per_second():.2f}x; meetbot/bare 303 "
        f"{meetbot.per_second() / redirected.per_second():.2f}x",
        "outbox pending before and after each meetbot round: "
        + " | ".join(str(b) for b in scenario.backlogs),
        f"decisions: {scenario.decisions} decision notices queued while measuring for "
        f"{len(meetbot.ok())} POSTs answered 200 (every POST changes its answer"
        + (", notify on)." if args.notify else "; notify off)."),
    ]
    problems = []
    if not met:
        problems.append(f"{scenario.name}: meetbot/floor {ratio:.2f}x, goal >= {GOAL}x")
    # Redraws merge: at most a summary and a Home tab per meeting wait, whatever the load.
    # More, or any other kind piling up, means answers come faster than the outbox keeps up.
    bound = 2 * len(scenario.event_ids) + 10
    last = scenario.backlogs[-1]
    growing = [b.redraws + b.others for b in scenario.backlogs]
    if (
        last.redraws + last.others > bound
        and growing == sorted(growing)
        and growing[-1] > growing[0]
    ):
        problems.append(
            f"{scenario.name}: the outbox backlog grows ({' -> '.join(map(str, growing))} "
            f"redraws and others pending; bound {bound})"
        )
    if args.notify and scenario.decisions < len(meetbot.ok()):
        problems.append(
            f"{scenario.name}: {scenario.decisions} decisions queued "
            f"for {len(meetbot.ok())} answers"
        )
    if meetbot.others():
        problems.append(f"{scenario.name}: meetbot: {meetbot.others()} POSTs failed")
    for bare in (floor, redirected):
        if bare.others():
            problems.append(f"{scenario.name}: {bare.name}: {bare.others()} POSTs failed")
    for result in (floor, redirected, meetbot):
        for reason, count in result.failures.most_common(3):
            lines.append(f"{result.name}: {count} x {reason}")
    return lines, problems


async def invite(
    app: Meetbot, mailbox: Mailbox, meetings: int, guests: int, notify: bool
) -> tuple[list[int], list[str]]:
    """Create `meetings` meetings of `guests` guests each; return their ids and links."""
    already = len(mailbox.received)
    event_ids: list[int] = []
    for _ in range(meetings):
        event_ids.append(await create_meeting(app, guests, notify))
    total = already + meetings * guests
    await mailbox.wait_for(total, timeout=max(120.0, total * 0.5))
    tokens = links_in(mailbox)[already:]
    if len(set(tokens)) != meetings * guests:
        raise BenchError(f"found {len(set(tokens))} distinct links, not {meetings * guests}")
    return event_ids, tokens


async def run(args: argparse.Namespace) -> int:
    limits = rate_settings()
    raised = {} if args.keep_rate_limits else {alias: RAISED_LIMIT for alias, _ in limits}
    lines: list[str] = []
    profiled: list[str] = []
    problems: list[str] = []
    wrong: list[str] = []
    scenarios: list[Scenario] = []
    mailbox = Mailbox()
    mailbox.start()
    loader = LoadProcess(args.clients)
    try:
        with tempfile.TemporaryDirectory(prefix="meetbot-bench-") as tmp, remote_slack() as slack:
            async with shared.database(args.postgres, Path(tmp)) as (database_url, where):
                # SLACK_APP_TOKEN=None: an app token in the environment would mean Socket Mode.
                settings = make_settings(
                    database_url,
                    slack,  # type: ignore[arg-type]  # only api_url and bot_token are read
                    mailbox,
                    free_port(),
                    SLACK_APP_TOKEN=None,
                    **PRODUCTION_INTERVALS,
                    **raised,
                )
                app = Meetbot(settings)
                try:
                    await app.start()
                    freeze_start_up_objects()  # as `meetbot run` does once started
                    print(f"inviting {args.guests} guests, twice ...", file=sys.stderr, flush=True)
                    one_ids, one_tokens = await invite(app, mailbox, 1, args.guests, args.notify)
                    spread_ids, spread_tokens = await invite(
                        app, mailbox, args.meetings, args.guests // args.meetings, args.notify
                    )
                    scenarios = [
                        Scenario(f"one meeting, {args.guests} guests", one_ids, one_tokens),
                        Scenario(
                            f"{args.meetings} meetings, {args.guests // args.meetings} guests each",
                            spread_ids,
                            spread_tokens,
                        ),
                    ]
                    answered: dict[str, str] = {}
                    async with (
                        floor_server() as floor_url,
                        floor_server(redirect=True) as redirect_url,
                    ):
                        for scenario in scenarios:
                            await interleaved(
                                app, loader, floor_url, redirect_url, scenario, answered, args
                            )
                        if args.profile:
                            profiled = await profile_meetbot(
                                app, loader, scenarios[0].tokens, answered, args
                            )
                    stored = await stored_answers(app, one_ids + spread_ids)
                    wrong = [t for t, a in answered.items() if stored.get(hash_token(t)) != a]
                finally:
                    print("stopping meetbot ...", file=sys.stderr, flush=True)
                    await app.stop()
    finally:
        loader.close()
        mailbox.stop()

    lines += [
        f"RSVP answers, POST /rsvp/<token> then the page it redirects to: {args.clients} "
        f"clients in a load process of their own,",
        f"{args.seconds:g} s per target per scenario in {args.rounds} interleaved rounds after "
        f"{args.warmup:g} s warm-up; every POST changes its link's answer; "
        f"notify on decision {'on' if args.notify else 'off'}; {where}.",
        f"machine: {machine()}",
        shared.NOISE_NOTE,
    ]
    if not limits:
        lines.append("rate limits: no setting named *RATE* in bot/config.py; none raised.")
    elif raised:
        names = ", ".join(f"{alias} (default {default})" for alias, default in limits)
        lines.append(f"rate limits: raised {names} to {RAISED_LIMIT:,} for this run.")
    else:
        names = ", ".join(f"{alias}={default}" for alias, default in limits)
        lines.append(f"rate limits: kept at their defaults ({names}); expect 429s.")
    for scenario in scenarios:
        shown, failed = report(scenario, args)
        lines += ["", *shown]
        problems += failed
    lines += [
        "",
        "latency: from sending the POST to the whole page read (after the 303); 200s only. "
        "page B: mean body bytes.",
        f"final answers in the database match the last answer POSTed for "
        f"{len(answered) - len(wrong)}/{len(answered)} links.",
        "decision DMs are sent at Slack's pace (about one a second per conversation), so with",
        "notify on they wait in the outbox under this load; they are reported, not failed.",
    ]
    lines += profiled
    if wrong:
        problems.append(f"{len(wrong)} links hold another answer than the last one POSTed")
    if slack.rejected:
        problems.append(f"the fake Slack refused {len(slack.rejected)} calls: {slack.rejected[:3]}")
    print("\n".join(lines), flush=True)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients")
    parser.add_argument(
        "--seconds", type=float, default=12.0, help="measured seconds per target and scenario"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario")
    parser.add_argument("--guests", type=int, default=200, help="answer links per scenario")
    parser.add_argument(
        "--meetings", type=int, default=10, help="meetings the spread scenario's guests are in"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds per target (not counted)"
    )
    parser.add_argument("--postgres", help="PostgreSQL URL to create the bench database next to")
    parser.add_argument(
        "--no-notify",
        dest="notify",
        action="store_false",
        help="untick 'notify me on decision' (ticked by default: a DM per answer)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="add two meetbot phases (not counted): step timers, then cProfile",
    )
    parser.add_argument(
        "--keep-rate-limits",
        action="store_true",
        help="leave Meetbot's RATE settings at their defaults (to see 429s)",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--clients, --seconds and --rounds must be positive, --warmup not negative")
    if args.meetings < 1 or args.guests // args.meetings < 1:
        parser.error("--meetings must be between 1 and --guests")
    if args.guests < args.clients or (args.guests // args.meetings) * args.meetings < args.clients:
        parser.error("--guests must be at least --clients, so no link is answered twice at once")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return shared.run_main(run(args))


if __name__ == "__main__":
    sys.exit(main())

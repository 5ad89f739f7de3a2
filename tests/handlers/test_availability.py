"""While filling the form: who is busy, their local time, and "Find a time"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import Meetbot
from bot.availability import merged
from tests.conftest import ANA, BEN, ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import open_create_form, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, texts, wait_for_summary
from tests.support.signed import SlackSender


def next_weekday(hour_utc: int) -> datetime:
    """Return a weekday at least two days ahead, at a whole UTC hour."""
    day = datetime.now(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    day += timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def open_form_record(slack: FakeSlack) -> dict[str, Any]:
    """Return the fake's record (id, hash, view) of the newest open modal."""
    return [v for v in slack.opened_views() if v["view"]["type"] == "modal"][-1]


async def updated_form(slack: FakeSlack, before: int) -> dict[str, Any]:
    """Wait for the app to redraw the form and return the redrawn view."""
    await eventually(lambda: len(slack.calls_to("views.update")) > before)
    view = slack.calls_to("views.update")[-1].args["view"]
    assert isinstance(view, dict)
    return view


def availability_text(view: dict[str, Any]) -> str:
    """Return the availability lines the form shows."""
    return next(b["text"]["text"] for b in view["blocks"] if b.get("block_id") == "availability")


async def test_picking_members_shows_who_is_busy_and_keeps_what_was_typed(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    taken = next_weekday(9)  # 10:00 in Warsaw, 04:00 in New York, 18:00 in Tokyo
    await send_invitations(sender, slack, ORGANIZER, title="Board prep", start=taken, members=[ANA])
    await wait_for_summary(slack)

    await open_create_form(sender, slack, ORGANIZER)
    form = open_form_record(slack)
    before = len(slack.calls_to("views.update"))
    typed = {
        "title": "Partner call",
        "start": int((taken + timedelta(minutes=15)).timestamp()),
        "end": int((taken + timedelta(minutes=45)).timestamp()),
        "members": [ANA, BEN],
        "guests": "bob@client.example",
    }
    await sender.change_in_view(ORGANIZER, form, "members", **typed)

    redrawn = await updated_form(slack, before)
    lines = availability_text(redrawn).splitlines()
    assert lines[0].startswith(f":red_circle: <@{ANA}> is busy")
    assert "(Board prep)" in lines[0]  # the organizer may see her own meeting's title
    assert "their time" in lines[0] and "outside working hours" in lines[0]  # 04:15 in New York
    assert lines[1].startswith(f":large_green_circle: <@{BEN}> is free")
    assert "outside working hours" in lines[1]  # 18:15 in Tokyo
    title = next(b for b in redrawn["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Partner call"
    guests = next(b for b in redrawn["blocks"] if b["block_id"] == "guests")
    assert guests["element"]["initial_value"] == "bob@client.example"
    assert slack.rejected() == []


async def test_someone_else_sees_busy_but_not_the_title_of_a_meeting_they_are_not_in(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    taken = next_weekday(10)
    await send_invitations(
        sender, slack, ORGANIZER, title="Secret merger", start=taken, members=[ANA]
    )
    await wait_for_summary(slack)

    await open_create_form(sender, slack, BEN)
    form = open_form_record(slack)
    before = len(slack.calls_to("views.update"))
    await sender.change_in_view(
        BEN,
        form,
        "start",
        start=int(taken.timestamp()),
        end=int((taken + timedelta(hours=1)).timestamp()),
        members=[ANA],
    )

    line = availability_text(await updated_form(slack, before))
    assert line.startswith(f":red_circle: <@{ANA}> is busy")
    assert "Secret merger" not in line


async def test_find_a_time_offers_free_times_and_picking_one_fills_the_form(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await open_create_form(sender, slack, ORGANIZER)
    form = open_form_record(slack)
    before = len(slack.calls_to("views.update"))
    await sender.press_in_view(ORGANIZER, form, "find_time", title="Sync", members=[ANA])

    offered = await updated_form(slack, before)
    options = next(b for b in offered["blocks"] if b.get("block_id") == "slots")["elements"]
    assert len(options) == 3
    starts = [int(o["value"].split("-")[0]) for o in options]
    assert starts == sorted(starts)
    first = datetime.fromtimestamp(starts[0], UTC)
    assert first > datetime.now(UTC)
    # Olga works in Warsaw and Ana in New York: only their afternoon / morning overlap suits.
    for zone in ("Europe/Warsaw", "America/New_York"):
        local_start = first.astimezone(ZoneInfo(zone))
        local_end = (first + timedelta(minutes=30)).astimezone(ZoneInfo(zone))
        assert local_start.weekday() < 5
        assert local_start.hour >= 9 and (local_end.hour, local_end.minute) <= (18, 0)

    picked_form = {**form, "view": offered, "hash": slack.opened_views()[-1]["hash"]}
    before = len(slack.calls_to("views.update"))
    await sender.press_in_view(
        ORGANIZER, picked_form, options[0]["action_id"], title="Sync", members=[ANA]
    )
    filled = await updated_form(slack, before)
    start = next(b for b in filled["blocks"] if b["block_id"] == "start")["element"]
    assert start["initial_date_time"] == starts[0]

    answer = await sender.submit_view(ORGANIZER, filled, title="Sync", members=[ANA])
    assert answer.json() == {}
    await eventually(
        lambda: any(
            f"<!date^{starts[0]}^" in texts(m) for m in slack.messages(slack.dm_channel(ANA))
        )
    )


async def test_find_a_time_reads_members_busy_times_joined_into_blocks_by_the_database(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    day = next_weekday(9)
    # Ana's and Ben's meetings overlap, touch end to start, and one stands apart.
    for title, offset, minutes, members in (
        ("Ana early", 0, 60, [ANA]),
        ("Ben overlapping", 30, 60, [BEN]),
        ("Both, touching", 90, 30, [ANA, BEN]),
        ("Ana later", 240, 45, [ANA]),
    ):
        await send_invitations(
            sender,
            slack,
            ORGANIZER,
            title=title,
            start=day + timedelta(minutes=offset),
            minutes=minutes,
            members=members,
            guests="",
        )
    # Each meeting is stored after the form's answer: wait for the organizer's 4 summaries.
    await eventually(
        lambda: (
            len(
                [
                    call
                    for call in slack.calls_to("chat.postMessage")
                    if call.args["channel"] == slack.dm_channel(ORGANIZER)
                ]
            )
            >= 4
        )
    )
    availability = meetbot.services.availability  # type: ignore[union-attr]
    span = (day - timedelta(hours=1), day + timedelta(days=1))

    blocks = await availability.busy_blocks(TEAM_ID, [ANA, BEN], *span)

    assert blocks == [
        (day, day + timedelta(minutes=120)),
        (day + timedelta(minutes=240), day + timedelta(minutes=285)),
    ]
    periods = await availability.busy(TEAM_ID, [ANA, BEN], *span, viewer="")
    assert blocks == merged(p for busy in periods.values() for p in busy)
    # Only Ben: his two meetings join into one block, Ana's alone are not his.
    assert await availability.busy_blocks(TEAM_ID, [BEN], *span) == [
        (day + timedelta(minutes=30), day + timedelta(minutes=120))
    ]
    assert await availability.busy_blocks("T0OTHER", [ANA, BEN], *span) == []

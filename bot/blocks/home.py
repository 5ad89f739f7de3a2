"""The App Home tab and the calendar-feed form."""

from __future__ import annotations

from bot.blocks.agenda import agenda_blocks
from bot.blocks.kit import (
    VIEW_BLOCK_LIMIT,
    Block,
    View,
    button,
    escape,
    input_block,
    mrkdwn,
    plain,
    slack_time,
    text_element,
)
from bot.i18n import (
    DEFAULT_LANGUAGE,
    Language,
    Translator,
    translator,
)
from bot.meetings.model import (
    Agenda,
)
from bot.personal import FeedStatus

MORE_ACTION = "home_show_more"
CONNECT_FEED_ACTION = "connect_calendar"
DISCONNECT_FEED_ACTION = "disconnect_calendar"
FEED_CALLBACK = "calendar_feed"


# Each meeting on the Home tab takes two blocks; 2 x 22 of them, with the two headings and
# "more" lines, the calendar's two blocks, the settings and the introduction, stay inside
# Slack's 100.
HOME_PAGE_SIZE = 10


HOME_MAX_PER_GROUP = 22


def feed_modal(*, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the form where a member pastes their calendar's secret iCal address."""
    t = translator(language)
    return {
        "type": "modal",
        "callback_id": FEED_CALLBACK,
        "title": plain(t.gettext("Connect calendar")),
        "submit": plain(t.gettext("Connect")),
        "close": plain(t.gettext("Cancel")),
        "blocks": [
            mrkdwn(
                t.gettext(
                    "Paste the *secret address in iCal format* of your Google or Outlook "
                    "calendar. Meetbot reads only when you are busy, never what your meetings are."
                )
            ),
            input_block(
                "feed_url",
                t.gettext("Secret iCal address"),
                text_element("", 2000, placeholder="https://calendar.google.com/…/basic.ics"),
            ),
        ],
    }


def _feed_blocks(t: Translator, feed: FeedStatus | None) -> list[Block]:
    if feed is None:
        return [
            mrkdwn(
                t.gettext(
                    "*Your calendar* — connect it so colleagues planning a meeting see when "
                    "you are busy (never what your meetings are)."
                )
            ),
            {
                "type": "actions",
                "block_id": "feed",
                "elements": [button(t.gettext("Connect calendar"), CONNECT_FEED_ACTION, "connect")],
            },
        ]
    if feed.last_error:
        state = f":warning: {escape(t.gettext(feed.last_error))}"
    elif feed.fetched_at:
        state = t.gettext("last read {when}").format(when=slack_time(feed.fetched_at))
    else:
        state = t.gettext("not read yet")
    return [
        mrkdwn(
            t.gettext("*Your calendar* — connected ({host}), {state}.").format(
                host=escape(feed.host), state=state
            )
        ),
        {
            "type": "actions",
            "block_id": "feed",
            "elements": [
                button(t.gettext("Change"), CONNECT_FEED_ACTION, "connect"),
                button(t.gettext("Disconnect"), DISCONNECT_FEED_ACTION, "disconnect", "danger"),
            ],
        },
    ]


def home_view(
    agenda: Agenda,
    page_size: int = HOME_PAGE_SIZE,
    feed: FeedStatus | None = None,
    settings: Block | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the App Home tab: the person's upcoming meetings, organizing and invited."""
    t = translator(language)
    limit = max(1, min(page_size, HOME_MAX_PER_GROUP))
    blocks: list[Block] = [
        mrkdwn(
            t.gettext("Type `/meet` anywhere to set up a meeting with members and outside guests.")
        ),
        *_feed_blocks(t, feed),
        *([settings] if settings is not None else []),
    ]
    entries, more = agenda_blocks(agenda, limit, "", language)
    blocks += entries
    if more and limit < HOME_MAX_PER_GROUP:
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_more",
                "elements": [
                    button(t.gettext("Show more"), MORE_ACTION, str(limit + HOME_PAGE_SIZE))
                ],
            }
        )
    return {"type": "home", "blocks": blocks[:VIEW_BLOCK_LIMIT]}

"""The guest pages and health check: aiohttp routes that call one service each."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path

from aiohttp import web
from markupsafe import Markup

from bot.blocks.kit import ANSWER_WORDS
from bot.clock import utc_now
from bot.i18n import N_, Language, language_for_accept_language, templates, translator
from bot.ical import cancel_calendar, meeting_zone, request_calendar
from bot.mail.messages import describe_when
from bot.meetings.errors import MeetingError, UnknownLink
from bot.meetings.model import Answer, Invitee, Meeting
from bot.services import Services
from bot.tokens import hash_token

SERVICES_KEY = web.AppKey("services", Services)
HealthCheck = Callable[[], Awaitable[dict[str, str]]]
HEALTH_KEY: web.AppKey[HealthCheck] = web.AppKey("health")
MAX_COMMENT = 1000
LOCAL_TIME_SCRIPT = (Path(__file__).parent / "static" / "localtime.js").read_bytes()

_CHOICES = {"accepted": Answer.ACCEPTED, "tentative": Answer.TENTATIVE, "declined": Answer.DECLINED}
_CONFIRMATION = {
    Answer.ACCEPTED: N_("You accepted. See you there!"),
    Answer.TENTATIVE: N_("You answered maybe."),
    Answer.DECLINED: N_("You declined. The organizer will know."),
}
CHOOSE_AN_ANSWER = N_("Choose Accept, Maybe or Decline.")


def _page(name: str, language: Language, status: int = 200, **context: object) -> web.Response:
    html = templates("handlers", language).get_template(name).render(lang=language.value, **context)
    return web.Response(text=html, status=status, content_type="text/html")


def _browser_language(request: web.Request) -> Language:
    # Where the meeting is unknown or not looked up, the browser's wish is all there is.
    return language_for_accept_language(request.headers.get("Accept-Language"))


def _not_found(request: web.Request) -> web.Response:
    return _page("not_found.html", _browser_language(request), status=404)


def _answer_page(
    meeting: Meeting, invitee: Invitee, token: str, confirmation: str = "", status: int = 200
) -> web.Response:
    t = translator(meeting.language)
    answer_word = Markup("<strong>{}</strong>").format(t.gettext(ANSWER_WORDS[invitee.answer]))
    return _page(
        "rsvp.html",
        meeting.language,
        status=status,
        meeting=meeting,
        invitee=invitee,
        when=describe_when(meeting),
        # For the guest's own zone, shown by localtime.js when it differs from the organizer's.
        start_utc=meeting.start.astimezone(UTC).isoformat(),
        end_utc=meeting.end.astimezone(UTC).isoformat(),
        zone=meeting_zone(meeting).key,
        token=token,
        confirmation=t.gettext(confirmation) if confirmation else "",
        answer_word=answer_word,
    )


def _client_address(request: web.Request) -> str:
    """Return the guest's address: the peer's, or what a trusted proxy says it forwarded."""
    peer = request.remote or ""
    trusted = request.app[SERVICES_KEY].settings.trusted_networks
    if not _within(peer, trusted):
        return peer
    # The nearest hop not ours is the client; anything further left could be made up.
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in forwarded if hop]):
        if not _within(hop, trusted):
            return hop
    return peer


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _unknown_link(request: web.Request) -> web.Response:
    """Answer a link that matches no one, slowing down whoever guesses links."""
    if not request.app[SERVICES_KEY].answer_limits.allow_unknown(_client_address(request)):
        return _page("slow_down.html", _browser_language(request), status=429)
    return _not_found(request)


async def show_answer_page(request: web.Request) -> web.Response:
    """Show the event and the answer buttons; recording nothing, as mail scanners open links."""
    token = request.match_info["token"]
    try:
        meeting, invitee = await request.app[SERVICES_KEY].meetings.guest_link(token)
    except UnknownLink:
        return _unknown_link(request)
    # Back from answering (303 after the POST): say it was recorded, if it still stands.
    answered = _CHOICES.get(request.query.get("answered", ""))
    confirmation = _CONFIRMATION[answered] if answered is invitee.answer else ""
    return _answer_page(meeting, invitee, token, confirmation)


async def record_answer(request: web.Request) -> web.Response:
    """Record the answer a guest pressed, with their comment."""
    token = request.match_info["token"]
    services = request.app[SERVICES_KEY]
    if not services.answer_limits.allow_link(hash_token(token)):
        return _page("slow_down.html", _browser_language(request), status=429)
    form = await request.post()
    answer = _CHOICES.get(str(form.get("answer", "")))
    comment = str(form.get("comment", ""))[:MAX_COMMENT]
    meetings = services.meetings
    try:
        if answer is None:
            meeting, invitee = await meetings.guest_link(token)
            return _answer_page(meeting, invitee, token, CHOOSE_AN_ANSWER, status=400)
        decision = await meetings.respond_as_guest(token, answer, comment)
    except UnknownLink:
        return _unknown_link(request)
    except MeetingError:
        # Cancelled, or no longer invited: the page explains it and nothing is recorded.
        meeting, invitee = await meetings.guest_link(token)
        return _answer_page(meeting, invitee, token, status=409)
    if decision.changed:
        services.metrics.decisions.labels("guest page").inc()
    # Post, then redirect: reloading the page shows the answer, it does not send it again.
    raise web.HTTPSeeOther(f"/rsvp/{token}?answered={answer.value}")


async def download_calendar(request: web.Request) -> web.Response:
    """Send the event as an .ics file the guest can import."""
    token = request.match_info["token"]
    services = request.app[SERVICES_KEY]
    try:
        meeting, invitee = await services.meetings.guest_link(token)
    except UnknownLink:
        return _not_found(request)
    organizer_address = services.mailboxes.get(meeting.mailbox).address
    # Always the guest's state now: a cancelled meeting or a removed guest gets a CANCEL,
    # which takes it out of their calendar instead of bringing it back.
    if meeting.cancelled or invitee.removed:
        calendar = cancel_calendar(
            meeting, invitee, organizer_address=organizer_address, stamp=utc_now()
        )
    else:
        # As the e-mailed invitation has it: the answer link, and the files behind it.
        answer_url = services.outbox.answer_url(token)
        calendar = request_calendar(
            meeting,
            invitee,
            organizer_address=organizer_address,
            stamp=utc_now(),
            url=answer_url,
            files=[(f, f"{answer_url}/files/{f.public_key}") for f in meeting.files],
        )
    return web.Response(
        body=calendar.to_ical(),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="invite.ics"'},
    )


def _file_response(name: str, mimetype: str, content: bytes) -> web.Response:
    safe_name = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in name) or "file"
    return web.Response(
        body=content,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
            "X-Meetbot-Content-Type": mimetype,
        },
    )


async def download_guest_file(request: web.Request) -> web.Response:
    """Send a file of the meeting to a guest holding its link."""
    files = request.app[SERVICES_KEY].files
    try:
        attached, content = await files.for_guest(
            request.match_info["token"], request.match_info["key"], utc_now()
        )
    except UnknownLink:
        return _not_found(request)
    return _file_response(attached.name, attached.mimetype, content)


async def download_member_file(request: web.Request) -> web.Response:
    """Send a meeting's file to a member following the link in their DM."""
    services = request.app[SERVICES_KEY]
    key, user_id = request.match_info["key"], request.query.get("for", "")
    signed = services.file_links.check(
        key, user_id, request.query.get("until", ""), request.query.get("sig", ""), utc_now()
    )
    if not signed:
        return _not_found(request)
    try:
        attached, content = await services.files.for_member(key, user_id, utc_now())
    except UnknownLink:
        return _not_found(request)
    return _file_response(attached.name, attached.mimetype, content)


async def health(request: web.Request) -> web.Response:
    """Report whether the database answers and the scheduler runs (503 when not)."""
    report = await request.app[HEALTH_KEY]()
    healthy = all(value == "ok" for value in report.values())
    return web.json_response(
        {"status": "ok" if healthy else "unhealthy", **report}, status=200 if healthy else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """Expose Prometheus metrics to whoever holds the metrics token (when one is needed)."""
    services = request.app[SERVICES_KEY]
    settings = services.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None and settings.installs_into_many_workspaces:
        raise web.HTTPNotFound  # shared by many workspaces: shown only with a token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
    services.metrics.outbox_depth.set(await services.outbox.pending_count())
    return web.Response(
        body=services.metrics.exposition(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


async def local_time_script(request: web.Request) -> web.Response:
    """Send the script that shows a guest the meeting's time in their own zone."""
    return web.Response(
        body=LOCAL_TIME_SCRIPT,
        content_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# What a guest's browser is allowed to do with Meetbot's pages: show them, run our one
# script, post the answer form back here; nothing else, and never inside someone's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Send every page with the headers that keep it private and unframed, and no version."""
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Server"] = "Meetbot"


def add_routes(app: web.Application) -> None:
    """Add the guest pages and the health check to the web app."""
    app.on_response_prepare.append(add_security_headers)
    app.router.add_get("/assets/localtime.js", local_time_script)
    app.router.add_get("/rsvp/{token}", show_answer_page)
    app.router.add_post("/rsvp/{token}", record_answer)
    app.router.add_get("/rsvp/{token}/invite.ics", download_calendar)
    app.router.add_get("/rsvp/{token}/files/{key}", download_guest_file)
    app.router.add_get("/files/{key}", download_member_file)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", metrics)

"""English and Polish: Slack texts follow each person's locale, guests read the event's language."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.app import Meetbot
from bot.i18n import Language, catalog_path, language_for_slack_locale
from tests.conftest import ANA, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_home import home_of
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    dm_of,
    eventually,
    fetch,
    open_form_from,
    texts,
    wait_for_mails,
)
from tests.support.signed import SlackSender

ROOT = Path(__file__).resolve().parent.parent
PIOTR = "U0PIOTR"
ZOFIA = "U0ZOFIA"
# Written out by hand, not by Babel, so the test checks Babel's Polish rather than repeating it.
POLISH_WEEKDAYS = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")
POLISH_MONTHS = (
    "stycznia",
    "lutego",
    "marca",
    "kwietnia",
    "maja",
    "czerwca",
    "lipca",
    "sierpnia",
    "września",
    "października",
    "listopada",
    "grudnia",
)
# As a subject line writes them (`sob. 5 gru 14:00 CET`).
POLISH_SHORT_WEEKDAYS = ("pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz.")
POLISH_SHORT_MONTHS = (
    "sty",
    "lut",
    "mar",
    "kwi",
    "maj",
    "cze",
    "lip",
    "sie",
    "wrz",
    "paź",
    "lis",
    "gru",
)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


def add_polish_people(slack: FakeSlack) -> None:
    """Add two members whose Slack is set to Polish."""
    slack.add_user(PIOTR, real_name="Piotr Nowak", email="piotr@acme.example", locale="pl-PL")
    slack.add_user(ZOFIA, real_name="Zofia Kowalska", email="zofia@acme.example", locale="pl-PL")


def test_slack_locales_map_to_our_languages() -> None:
    assert language_for_slack_locale("pl-PL") is Language.PL
    assert language_for_slack_locale("en-US") is Language.EN
    assert language_for_slack_locale("en-GB") is Language.EN
    assert language_for_slack_locale("de-DE") is Language.EN
    assert language_for_slack_locale(None) is Language.EN


async def test_a_polish_member_gets_a_polish_dm_and_an_english_member_an_english_one(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    add_polish_people(slack)

    await send_invitations(sender, slack, ORGANIZER, title="Design review", members=[PIOTR, ANA])

    await eventually(lambda: slack.messages(slack.dm_channel(PIOTR)))
    await eventually(lambda: slack.messages(slack.dm_channel(ANA)))
    polish = texts(dm_of(slack, PIOTR))
    assert "Olga Organizer zaprasza Cię na Design review" in polish
    assert "*Kiedy:*" in polish and "*Gdzie:* Room 4" in polish
    assert "Przyjmuję" in polish and "Odrzucam" in polish
    assert "Zaproszona jest jeszcze 1 osoba." in polish
    english = texts(dm_of(slack, ANA))
    assert "Olga Organizer invites you to Design review" in english
    assert "Accept" in english and "1 other person is invited." in english
    assert "zaprasza" not in english


async def test_polish_counts_take_polish_plural_forms(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    add_polish_people(slack)
    expected = {
        1: "Zaproszona jest jeszcze 1 osoba.",
        2: "Zaproszone są jeszcze 2 osoby.",
        5: "Zaproszonych jest jeszcze 5 osób.",
    }

    for day, others in enumerate(expected, start=2):
        guests = ", ".join(f"guest{n}.{others}@client.example" for n in range(others))
        await send_invitations(
            sender,
            slack,
            ORGANIZER,
            title=f"Meeting with {others} others",
            start=in_days(day),
            members=[PIOTR],
            guests=guests,
        )

    def piotrs_dms() -> str:
        return " ".join(texts(m) for m in slack.messages(slack.dm_channel(PIOTR)))

    await eventually(lambda: all(line in piotrs_dms() for line in expected.values()))


async def test_a_polish_organizers_guest_reads_the_invitation_and_answer_page_in_polish(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    add_polish_people(slack)
    start = in_days(7, hour=13)  # 14:00 in Warsaw in winter, 15:00 in summer

    await send_invitations(
        sender,
        slack,
        ZOFIA,
        title="Przegląd projektu",
        start=start,
        guests="Bob Client <bob@client.example>",
    )

    mail = (await wait_for_mails(mailbox, "bob@client.example", 1))[0].message
    day = f"{POLISH_WEEKDAYS[start.weekday()]}, {start.day} {POLISH_MONTHS[start.month - 1]}"
    warsaw = start.astimezone(ZoneInfo("Europe/Warsaw"))
    short_day = (
        f"{POLISH_SHORT_WEEKDAYS[warsaw.weekday()]} {warsaw.day} "
        f"{POLISH_SHORT_MONTHS[warsaw.month - 1]} {warsaw:%H:%M} {warsaw.tzname()}"
    )
    assert str(mail["Subject"]) == f"Zaproszenie: Przegląd projektu, {short_day}"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for body in (plain, html):
        assert "Zofia Kowalska zaprasza Cię na spotkanie." in body
        assert f"{day} {start.year}" in body and "czas środkowoeuropejski" in body
        assert "invites you" not in body
    assert "Kiedy:" in plain and "Przyjdziesz? Odpowiedz tutaj" in plain
    assert '<html lang="pl">' in html and "Odpowiedz na zaproszenie" in html

    link = answer_link(mailbox.to("bob@client.example")[0])
    status, page = await fetch("GET", link)
    assert status == 200
    assert '<html lang="pl">' in page
    assert "Zofia Kowalska zaprasza Cię na" in page and "Nie ma jeszcze Twojej odpowiedzi." in page
    assert ">Przyjmuję</button>" in page and ">Może</button>" in page
    assert f"{day} {start.year}" in page

    status, page = await fetch("POST", link, {"answer": "accepted", "comment": "Będę"})
    assert status == 200
    assert "Przyjęto. Do zobaczenia!" in page
    assert "Twoja odpowiedź: <strong>przyjęte</strong>" in page

    await eventually(lambda: "przyjęte: 1" in texts(slack.messages(slack.dm_channel(ZOFIA))[0]))
    assert "Twoje spotkanie Przegląd projektu" in texts(slack.messages(slack.dm_channel(ZOFIA))[0])


async def test_an_english_organizers_guest_reads_english(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    start = in_days(7, hour=13)

    await send_invitations(
        sender, slack, ORGANIZER, start=start, guests="Bob Client <bob@client.example>"
    )

    mail = (await wait_for_mails(mailbox, "bob@client.example", 1))[0].message
    warsaw = start.astimezone(ZoneInfo("Europe/Warsaw"))
    short_day = f"{warsaw:%a} {warsaw.day} {warsaw:%b %H:%M} {warsaw.tzname()}"
    assert str(mail["Subject"]) == f"Invitation: Design review, {short_day}"
    assert "Olga Organizer invites you to a meeting." in mail.get_body(("plain",)).get_content()
    status, page = await fetch("GET", answer_link(mailbox.to("bob@client.example")[0]))
    assert status == 200 and '<html lang="en">' in page and ">Accept</button>" in page


async def test_a_polish_organizer_sees_form_errors_in_polish(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    add_polish_people(slack)
    before = len(slack.calls_to("views.open"))
    await sender.command(ZOFIA, "")
    await slack.wait_for("views.open", lambda call: len(slack.calls_to("views.open")) > before)
    form = slack.calls_to("views.open")[-1].args["view"]
    assert form["title"]["text"] == "Nowe spotkanie"
    assert form["submit"]["text"] == "Wyślij zaproszenia"

    start = in_days(2)
    response = await sender.submit_view(
        ZOFIA,
        form,
        title="",
        start=int(start.timestamp()),
        end=int(start.timestamp()) - 60,
        guests="not an address",
        reminder="15",
    )

    errors = response.json()["errors"]
    assert errors["title"] == "Nadaj spotkaniu tytuł."
    assert errors["end"] == "Koniec musi być po początku."
    assert errors["guests"] == "„not an address” nie jest adresem e-mail."


async def test_a_polish_organizers_cancellation_reaches_each_person_in_their_language(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    add_polish_people(slack)
    await send_invitations(
        sender,
        slack,
        ZOFIA,
        title="Przegląd projektu",
        members=[PIOTR, ANA],
        guests="bob@client.example",
    )
    await wait_for_mails(mailbox, "bob@client.example", 1)
    await eventually(lambda: slack.messages(slack.dm_channel(ZOFIA)))
    summary = slack.messages(slack.dm_channel(ZOFIA))[0]
    assert "Odwołaj spotkanie" in texts(summary)

    form = await open_form_from(sender, slack, ZOFIA, summary, "cancel_meeting")
    assert form["title"]["text"] == "Odwołaj spotkanie"
    assert "Wszystkie 3 zaproszone osoby zostaną powiadomione" in str(form["blocks"])
    await sender.submit_view(ZOFIA, form, message="Klient przełożył termin.")

    cancellation = (await wait_for_mails(mailbox, "bob@client.example", 2))[1].message
    assert str(cancellation["Subject"]).startswith("Odwołane: Przegląd projektu, ")
    plain = cancellation.get_body(("plain",)).get_content()
    assert "Zofia Kowalska odwołuje to spotkanie." in plain
    assert "Zofia Kowalska pisze:" in plain and "Klient przełożył termin." in plain

    def notices(user_id: str) -> str:
        return " ".join(texts(m) for m in slack.messages(slack.dm_channel(user_id)))

    await eventually(lambda: "Zofia Kowalska odwołuje Przegląd projektu" in notices(PIOTR))
    await eventually(lambda: "Zofia Kowalska cancelled Przegląd projektu" in notices(ANA))


async def test_the_home_tab_speaks_its_viewers_language(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    add_polish_people(slack)
    await send_invitations(sender, slack, ORGANIZER, members=[PIOTR, ANA])
    # The meeting is stored after the form closes; its invitations show it is there.
    await eventually(lambda: slack.messages(slack.dm_channel(PIOTR)))

    polish = await home_of(sender, slack, PIOTR)
    english = await home_of(sender, slack, ANA)

    assert "Zaproszenia (1)" in str(polish) and "Organizujesz (0)" in str(polish)
    assert "Twoja odpowiedź: *bez odpowiedzi*" in str(polish)
    assert "Invited (1)" in str(english) and "Your answer: *no answer yet*" in str(english)


def _code_messages() -> dict[str, tuple[str, ...]]:
    """Return every text marked for translation in the code and templates, as pybabel sees it."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


def test_every_text_in_the_code_has_a_polish_translation_with_the_same_placeholders() -> None:
    code = _code_messages()
    with catalog_path(Language.PL).open("rb") as po:
        catalog = read_po(po)
    assert catalog.num_plurals == 3
    assert len(code) > 150  # the extraction really found Meetbot's texts

    problems = []
    for msgid, forms in code.items():
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        translations = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(forms) > 1 and len(translations) != 3:
            problems.append(f"needs three Polish plural forms: {msgid!r}")
        expected = {p for form in forms for p in PLACEHOLDER.findall(form)}
        for translation in translations:
            if not translation:
                problems.append(f"untranslated: {msgid!r}")
            elif set(PLACEHOLDER.findall(translation)) != expected:
                problems.append(f"placeholders differ: {msgid!r} -> {translation!r}")
    stale = [
        m.id for m in catalog if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in code
    ]
    assert not problems, "\n".join(problems)
    assert not stale, f"texts no longer in the code: {stale}"

"""The queue id a mail server names when it accepts a message, as the ledger shows it."""

from __future__ import annotations

import pytest

from bot.mail.transport import queue_id_in


@pytest.mark.parametrize(
    ("reply", "queue_id"),
    [
        ("2.0.0 Ok: queued as 4F2A1", "4F2A1"),  # Postfix
        ("OK id=1vN4kd-0003Xy-2K queued as 1vN4kd-0003Xy-2K", "1vN4kd-0003Xy-2K"),  # Exim
        ("2.0.0 0B3HxK9a012345 Message accepted for delivery", "0B3HxK9a012345"),  # Sendmail
        ("2.6.0 <a@b> [InternalId=15547781, Hostname=AM0PR] Queued mail", "15547781"),  # Exchange
        ("2.0.0 OK", None),
        (None, None),
    ],
)
def test_the_queue_id_is_read_from_what_servers_answer(
    reply: str | None, queue_id: str | None
) -> None:
    assert queue_id_in(reply) == queue_id

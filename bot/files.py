"""Files organizers upload in the form, fetched from Slack with their workspace's bot token."""

from __future__ import annotations

import aiohttp

from bot.drafts import FileRef
from bot.slack_clients import SlackClients

MAX_FILE_BYTES = 50 * 1024 * 1024


class FileTooLarge(ValueError):
    """A file bigger than Meetbot keeps."""


class SlackFiles:
    """Download uploaded files from Slack (`url_private_download`, bot token in the header)."""

    def __init__(self, clients: SlackClients, timeout: float = 60.0) -> None:
        self._clients = clients
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def fetch(self, team_id: str, file: FileRef) -> bytes:
        """Return the bytes of a file uploaded in a workspace."""
        if file.size > MAX_FILE_BYTES:
            raise FileTooLarge(file.name)
        client = await self._clients.for_team(team_id)
        headers = {"Authorization": f"Bearer {client.token}"}
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.get(file.download_url, headers=headers) as response,
        ):
            response.raise_for_status()
            # Slack answers an unauthorized download with its HTML sign-in page, not an error.
            if response.content_type == "text/html" and not file.mimetype.startswith("text/html"):
                raise PermissionError(f"Slack refused to hand over {file.name}")
            return await response.read()

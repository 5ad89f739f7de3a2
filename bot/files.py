"""Files organizers upload in the form, fetched from Slack with the bot token."""

from __future__ import annotations

import aiohttp

from bot.drafts import FileRef

MAX_FILE_BYTES = 50 * 1024 * 1024


class FileTooLarge(ValueError):
    """A file bigger than Meetbot keeps."""


class SlackFiles:
    """Download uploaded files from Slack (`url_private_download`, bot token in the header)."""

    def __init__(self, bot_token: str, timeout: float = 60.0) -> None:
        self._token = bot_token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def fetch(self, file: FileRef) -> bytes:
        """Return the file's bytes."""
        if file.size > MAX_FILE_BYTES:
            raise FileTooLarge(file.name)
        headers = {"Authorization": f"Bearer {self._token}"}
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.get(file.download_url, headers=headers) as response,
        ):
            response.raise_for_status()
            # Slack answers an unauthorized download with its HTML sign-in page, not an error.
            if response.content_type == "text/html" and not file.mimetype.startswith("text/html"):
                raise PermissionError(f"Slack refused to hand over {file.name}")
            return await response.read()

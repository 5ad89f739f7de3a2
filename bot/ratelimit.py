"""Limits on how often one guest link or one address may answer, so nobody floods the page."""

from __future__ import annotations

import time
from collections import deque


class SlidingWindow:
    """Allow at most `limit` events per key within a window of seconds."""

    def __init__(self, limit: int, window_seconds: float = 60.0, max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Record an attempt for a key; tell whether it is within the limit."""
        now = time.monotonic()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._forget_idle(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self._window:
            events.popleft()
        if len(events) >= self._limit:
            return False
        events.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        # Memory stays bounded under a flood of distinct keys.
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self._window]:
            del self._events[key]
        if len(self._events) >= self._max_keys:
            self._events.clear()


class AnswerLimits:
    """The guest page's limits: per link first, and per client address for unknown links.

    A real guest is held back only by their own link's limit: an address is counted only
    for links that match no one, which is what guessing links looks like. Guests behind one
    proxy therefore never share a bucket with someone probing from the same address.
    """

    def __init__(self, per_link: int, per_address: int) -> None:
        self._links = SlidingWindow(per_link)
        self._addresses = SlidingWindow(per_address)

    def allow_link(self, token_hash: str) -> bool:
        """Record an answer sent with a link; tell whether that link may answer now."""
        return self._links.allow(token_hash)

    def allow_unknown(self, address: str) -> bool:
        """Record a link from an address that matched no one; tell whether it may go on."""
        return self._addresses.allow(address)

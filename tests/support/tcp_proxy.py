"""A loopback TCP proxy a test can cut and restore, as an outage between two servers would."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support.network import free_port

CHUNK = 64 * 1024


class TcpProxy:
    """Forward connections from a loopback port to a target; cut them all at will.

    `cut` refuses new connections and resets the open ones, as a server that went away
    does; `restore` listens again on the same port. `freeze` holds every byte, as a
    network that drops packets does (nothing fails, nothing answers); `thaw` lets them on.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.connections = 0  # accepted since the start, for tests to see it was used
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        """Listen on the proxy's port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        await self.start()

    def freeze(self) -> None:
        """Hold every byte in both directions, on open and new connections alike."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Pass the bytes held and those that follow."""
        self._flowing.set()

    async def close(self) -> None:
        """Stop for good."""
        await self.cut()

    async def _accept(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream, to_upstream = await asyncio.open_connection(*self._target)
        except OSError:
            to_client.transport.abort()
            return
        ends = [to_client, to_upstream]
        for writer in ends:
            self._transports.add(writer.transport)
        pipes = [
            asyncio.create_task(self._pipe(client, to_upstream, self._flowing)),
            asyncio.create_task(self._pipe(upstream, to_client, self._flowing)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in ends:
                self._transports.discard(writer.transport)
                writer.transport.abort()

    @staticmethod
    async def _pipe(
        source: asyncio.StreamReader, sink: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(CHUNK):
                await flowing.wait()
                sink.write(data)
                await sink.drain()
        # One side ended: end the other, so neither waits on a half-open connection.
        sink.transport.abort()

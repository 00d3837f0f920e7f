"""A minimal asyncio HTTP/1.1 client for load generation.

A load generator must be cheaper than the server it measures, or it measures itself. Generic
clients spend a millisecond or more of Python per request; this one writes a pre-built request
line, reads the status line and headers, and the body by ``Content-Length`` (or chunked), over
keep-alive connections from a pool. It speaks only what the lab's service answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

__all__ = ["ConnectionPool", "HTTPError", "Response"]


class HTTPError(Exception):
    """The connection failed or the response could not be parsed."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reusable = True

    async def request(self, raw: bytes) -> Response:
        self.writer.write(raw)
        await self.writer.drain()
        line = await self.reader.readline()
        if not line:
            raise HTTPError("connection closed before a response")
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HTTPError(f"bad status line {line!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                body += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            data = bytes(body)
        else:
            data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.reusable = False
        return Response(status, headers, data)

    def close(self) -> None:
        self.reusable = False
        self.writer.close()


class ConnectionPool:
    """Keep-alive connections to one ``host:port``; a new one opens when all are busy.

    ``max_connections`` bounds the sockets; beyond it, requests wait for a free connection
    (their latency, measured from the scheduled time, includes that wait).
    """

    def __init__(self, host: str, port: int, max_connections: int = 256) -> None:
        self.host, self.port = host, port
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._all: set[_Connection] = set()

    def build(self, method: str, path: str, body: bytes | None = None) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + (body or b"")

    async def request(self, raw: bytes) -> Response:
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                except OSError as err:
                    raise HTTPError(f"connect failed: {err}") from err
                conn = _Connection(reader, writer)
                self._all.add(conn)
            try:
                response = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError, HTTPError) as err:
                conn.close()
                self._all.discard(conn)
                raise HTTPError(str(err) or type(err).__name__) from err
            except BaseException:  # cancelled mid-request: the connection state is unknown
                conn.close()
                self._all.discard(conn)
                raise
            if conn.reusable:
                self._idle.append(conn)
            else:
                conn.close()
                self._all.discard(conn)
            return response

    async def close(self) -> None:
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()

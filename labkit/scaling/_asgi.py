"""ASGI plumbing for the service: JSON errors, request parameters, and instrumentation.

Kept apart from :mod:`labkit.scaling.service` so the app module reads as the request path.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["Instrument", "as_int", "error", "http_error", "read_params"]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error body ``{"error": message, "status": status}``."""
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


async def read_params(request: Request, max_body: int) -> dict[str, Any] | JSONResponse:
    """Query parameters of a GET, or the JSON object of a POST body (at most ``max_body``
    bytes, read in chunks so an oversized body is refused without being held); an error
    response (400 or 413) when the body is not acceptable."""
    if request.method == "GET":
        return dict(request.query_params)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_body):
        return error(413, f"request body larger than {max_body} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            return error(413, f"request body larger than {max_body} bytes")
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        return error(400, f"malformed JSON body: {err}")
    if not isinstance(params, dict):
        return error(400, 'the JSON body must be an object like {"user_id": 7, "k": 10}')
    return params


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is one (JSON) or spells one (query string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 answers, as JSON errors like every other."""
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail), exc.headers)


class Instrument:
    """ASGI middleware: requests in flight, latency histogram and status counts.

    ``metrics`` holds the ``in_flight`` gauge, ``latency`` histogram and ``requests`` counter of
    :func:`labkit.scaling.service.make_metrics`; paths outside ``known_paths`` count as "other"
    (so a scan of random URLs cannot blow up the number of time series). Every response carries
    an ``X-Worker`` header with the process id that answered.
    """

    def __init__(self, app: Any, metrics: dict[str, Any], known_paths: tuple[str, ...]) -> None:
        self.app, self.metrics, self.known_paths = app, metrics, known_paths
        self.worker = (b"x-worker", str(os.getpid()).encode())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in self.known_paths else "other"
        status = {"code": 500}

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), self.worker]}
            await send(message)

        m = self.metrics
        m["in_flight"].inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            m["in_flight"].dec()
            m["latency"].observe(time.perf_counter() - start, endpoint=endpoint)
            m["requests"].inc(endpoint=endpoint, status=status["code"])

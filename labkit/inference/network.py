"""A real HTTP model endpoint on loopback, a delaying proxy, and client-observed latency.

What a client waits for is the network round trip plus the server's time. The server can only
shrink its own part; the round trip depends on distance (light in fibre covers ~200 km per ms,
so a cross-continent RTT is tens of ms), which is why latency-critical inference moves to the
edge, near the users. This module makes the split measurable on one machine:

* :class:`ModelServer` serves ``POST /predict`` (JSON ``{"instances": [[...], ...]}``) from a
  thread with the standard library's HTTP server, and reports its own processing time (JSON
  decoding, the model, encoding the answer) in a ``Server-Timing: app;dur=<ms>`` header (the W3C
  Server Timing format);
* :class:`DelayProxy` forwards TCP traffic to it, holding every chunk for a one-way delay in each
  direction, which adds a round trip of twice that delay, like a distant server would;
* :func:`http_latency` times requests from the client side and reads the server's own time, so
  network time = client time − server time.

Examples
--------
>>> with ModelServer(lambda rows: [sum(r) for r in rows]) as server:
...     result = http_latency(server.url, {"instances": [[1.0, 2.0]]}, repeat=5)
>>> result.last_response
{'predictions': [3.0]}
>>> result.client.median >= result.server.median
True
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from labkit._validate import check_int
from labkit.timing import Measurement, format_seconds

__all__ = ["DelayProxy", "HttpLatency", "ModelServer", "http_latency"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one TCP connection for many requests
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request
        pass

    def _reply(self, status: int, body: dict[str, Any], start: float | None = None) -> None:
        data = json.dumps(body).encode()
        server_s = None if start is None else time.perf_counter() - start
        head = [
            f"HTTP/1.1 {status} {http.client.responses[status]}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
        ]
        if server_s is not None:
            head.append(f"Server-Timing: app;dur={server_s * 1e3:.4f}")
        # One write for head and body: two small writes meet Nagle + delayed ACK stalls.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": f"no route {self.path}; use POST /predict"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._reply(404, {"error": f"no route {self.path}; use POST /predict"})
            return
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        start = time.perf_counter()  # server time: decode, predict, encode
        try:
            instances = json.loads(raw)["instances"]
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"error": 'body must be JSON {"instances": [[...], ...]}'})
            return
        try:
            predictions = self.server.predict(instances)
        except (ValueError, TypeError) as err:
            self._reply(400, {"error": str(err)})
            return
        except Exception as err:
            self._reply(500, {"error": f"{type(err).__name__}: {err}"})
            return
        self._reply(200, {"predictions": predictions}, start)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    predict: Callable[[list[Any]], list[Any]]


class ModelServer:
    """Serve ``predict(instances) -> predictions`` at ``http://host:port/predict`` in a thread.

    ``port=0`` picks a free port; read it from :attr:`url`. Use as a context manager, or call
    :meth:`start` and :meth:`stop`. ``predict`` must return JSON-serializable values; a
    ``ValueError``/``TypeError`` it raises becomes a 400 response, anything else a 500.
    """

    def __init__(
        self, predict: Callable[[list[Any]], list[Any]], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not callable(predict):
            raise TypeError(f"predict must be callable, got {type(predict).__name__}")
        self.predict = predict
        self.host = host
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() or use `with`")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> ModelServer:
        if self._httpd is None:
            self._httpd = _Server((self.host, self.port), _Handler)
            self._httpd.predict = self.predict
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, daemon=True, name="labkit-model-server"
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class DelayProxy:
    """A TCP proxy on ``host`` that delays each chunk by ``one_way_delay_s`` in each direction.

    Every chunk is forwarded ``one_way_delay_s`` after it arrived (a reader and a writer thread
    per direction), so back-to-back chunks are not delayed twice: a propagation delay, like a
    long link, adding ``2 × one_way_delay_s`` to each request–response round trip.
    """

    def __init__(self, target_url: str, one_way_delay_s: float, host: str = "127.0.0.1") -> None:
        if not (isinstance(one_way_delay_s, int | float) and 0 <= one_way_delay_s < 10):
            raise ValueError(
                f"one_way_delay_s must be within [0, 10) seconds, got {one_way_delay_s!r}"
            )
        parts = urlsplit(target_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"target_url must look like http://host:port, got {target_url!r}")
        self.target = (parts.hostname, parts.port)
        self.one_way_delay_s = float(one_way_delay_s)
        self._listener = socket.create_server((host, 0))
        self._closed = threading.Event()
        self.url = f"http://{host}:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True, name="labkit-delay-proxy").start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # listener closed
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done = threading.Semaphore(0)  # released once per direction that has finished
            self._pipe(client, upstream, done)
            self._pipe(upstream, client, done)
            threading.Thread(
                target=self._close_after, args=(done, client, upstream), daemon=True
            ).start()

    @staticmethod
    def _close_after(done: threading.Semaphore, *socks: socket.socket) -> None:
        done.acquire()
        done.acquire()
        for sock in socks:
            sock.close()

    def _pipe(self, src: socket.socket, dst: socket.socket, done: threading.Semaphore) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                chunks.put((time.perf_counter() + self.one_way_delay_s, data))
                if not data:
                    return

        def write() -> None:
            try:
                while True:
                    due, data = chunks.get()
                    time.sleep(max(0.0, due - time.perf_counter()))
                    if not data:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    dst.sendall(data)
            except OSError:  # the other side went away
                return
            finally:
                done.release()

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        # shutdown() wakes the thread blocked in accept(); close() alone does not, on Linux.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class HttpLatency:
    """Client-observed and server-reported times of the same requests, in seconds."""

    client: Measurement
    server: Measurement
    last_response: Any

    @property
    def network_s(self) -> float:
        """Median client time minus median server time: the round trip and HTTP handling."""
        return self.client.median - self.server.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_median_s": self.client.median,
            "client_p99_s": self.client.p99,
            "server_median_s": self.server.median,
            "network_s": self.network_s,
        }

    def __repr__(self) -> str:
        f = format_seconds
        return (
            f"HttpLatency(client median {f(self.client.median)}, server {f(self.server.median)}, "
            f"network + HTTP {f(self.network_s)})"
        )


def http_latency(
    url: str, payload: dict[str, Any], *, repeat: int = 50, warmup: int = 3, timeout_s: float = 10.0
) -> HttpLatency:
    """POST ``payload`` to ``url/predict`` ``repeat`` times on one keep-alive connection.

    Raises ``RuntimeError`` with the server's message on a non-200 answer.
    """
    repeat = check_int(repeat, "repeat", min_val=1)
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"url must look like http://host:port, got {url!r}")
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    conn.connect()
    # http.client sends the headers and the body in two writes; with Nagle's algorithm on, the
    # body then waits for the server's delayed ACK of the headers (milliseconds, per request).
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_times, server_times = [], []
    response: Any = None
    try:
        for i in range(warmup + repeat):
            start = time.perf_counter()
            conn.request("POST", "/predict", body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            elapsed = time.perf_counter() - start
            if answer.status != 200:
                raise RuntimeError(f"{url}/predict answered {answer.status}: {data.decode()}")
            timing = answer.getheader("Server-Timing", "app;dur=0")
            if i >= warmup:
                client_times.append(elapsed)
                server_times.append(float(timing.split("dur=")[1]) / 1e3)
            response = json.loads(data)
    finally:
        conn.close()
    return HttpLatency(
        Measurement(tuple(client_times), "client", "cpu"),
        Measurement(tuple(server_times), "server", "cpu"),
        response,
    )

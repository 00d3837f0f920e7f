"""Load generation: open loop (the right way to measure latency) and closed loop (to see why).

**Open loop** (:func:`run_open_loop`): every request has a send time fixed in advance by a
schedule (:mod:`labkit.scaling.traffic`), and is sent then whether or not earlier requests have
come back. Latency is measured from the *scheduled* send time, so when the server stalls, the
requests that should have gone out during the stall are charged for it. This is how real users
behave and how wrk2 measures.

**Closed loop** (:func:`run_closed_loop`): N virtual users each send a request, wait for the
answer, then send the next. When the server slows down the users slow down with it, so fewer
requests are sent exactly when latency is bad, and the stall is recorded once instead of for
everyone who would have waited: *coordinated omission*. Locust and most benchmark loops work this
way; it is the right tool to find maximum throughput, and the wrong one for latency percentiles.

Both are bounded by a request count and a deadline, talk HTTP/1.1 over keep-alive connections,
and run on their own event loop (in a helper thread inside Jupyter), so they work the same from a
script, a test or a running notebook.

Examples
--------
>>> from labkit.scaling.traffic import poisson_schedule
>>> r = run_open_loop("http://127.0.0.1:9", poisson_schedule(20.0, 0.2, seed=0), user_ids=[1],
...                   timeout_s=0.5)  # nobody listens on port 9 (discard): refused
>>> bool((r.status == STATUS_ERROR).all()), r.mode
(True, 'open')
"""

from __future__ import annotations

import asyncio
import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._asyncio import run_coroutine
from labkit._validate import check_int, check_real
from labkit.scaling._http import ConnectionPool, HTTPError
from labkit.timing import format_seconds

__all__ = [
    "STATUS_ERROR",
    "STATUS_TIMEOUT",
    "HttpLoadResult",
    "load_table",
    "run_closed_loop",
    "run_open_loop",
]

STATUS_ERROR = 0  # connection refused/reset, malformed response
STATUS_TIMEOUT = -1  # no answer within the client timeout


@dataclass(frozen=True)
class HttpLoadResult:
    """Per-request record of one load test over HTTP; times are seconds from its start.

    Attributes
    ----------
    mode
        "open" or "closed".
    label
        What was tested.
    offered_rps
        The schedule's rate (open loop), or ``None``.
    scheduled_s, sent_s, done_s
        When each request was due, actually sent, and answered (NaN when it never was).
    status
        HTTP status, or :data:`STATUS_ERROR` / :data:`STATUS_TIMEOUT`.
    wall_s
        Duration of the test, first send to last answer.
    """

    mode: str
    label: str
    offered_rps: float | None
    scheduled_s: np.ndarray
    sent_s: np.ndarray
    done_s: np.ndarray
    status: np.ndarray
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_s(self) -> np.ndarray:
        """Answer time minus *scheduled* time (open loop) or send time (closed loop)."""
        return self.done_s - self.scheduled_s

    @property
    def ok(self) -> np.ndarray:
        return self.status == 200

    @property
    def n(self) -> int:
        return len(self.status)

    def count(self, status: int) -> int:
        return int((self.status == status).sum())

    @property
    def throughput_rps(self) -> float:
        """Successful answers per second of test time."""
        return float(self.ok.sum() / self.wall_s) if self.wall_s > 0 else 0.0

    def percentile(self, q: float, which: str = "ok") -> float:
        """Latency percentile of successful requests (``which="ok"``), shed ones ("503") or all
        answered ones ("answered")."""
        mask = {
            "ok": self.ok,
            "503": self.status == 503,
            "answered": np.isfinite(self.done_s),
        }[which]
        values = self.latency_s[mask]
        return float(np.percentile(values, q)) if len(values) else math.nan

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def send_lag_p99(self) -> float:
        """How late the generator itself sent (should stay far below the latencies measured)."""
        lag = self.sent_s - self.scheduled_s
        lag = lag[np.isfinite(lag)]
        return float(np.percentile(lag, 99)) if len(lag) else math.nan

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "mode": self.mode,
            "offered_rps": self.offered_rps,
            "requests": self.n,
            "ok": int(self.ok.sum()),
            "shed_503": self.count(503),
            "timeouts": self.count(STATUS_TIMEOUT),
            "errors": int(((self.status != 200) & (self.status != 503)).sum()),
            "throughput_rps": self.throughput_rps,
            "p50_s": self.p50,
            "p90_s": self.percentile(90),
            "p99_s": self.p99,
            "max_s": float(np.nanmax(self.latency_s[self.ok])) if self.ok.any() else math.nan,
            "send_lag_p99_s": self.send_lag_p99,
            **self.extra,
        }

    to_dict = summary

    def __repr__(self) -> str:
        s = self.summary()
        offered = f" at {s['offered_rps']:.0f} rps offered" if s["offered_rps"] else ""
        return (
            f"HttpLoadResult({self.label!r}, {self.mode} loop{offered}: {s['ok']}/{s['requests']} ok, "
            f"{s['shed_503']} shed, {s['errors']} errors; {s['throughput_rps']:.0f} rps, "
            f"p50 {format_seconds(s['p50_s'])}, p99 {format_seconds(s['p99_s'])})"
        )


def load_table(results: Sequence[HttpLoadResult]) -> str:
    """A fixed-width table of load tests (one row each)."""
    head = (
        f"{'test':<36}{'mode':>7}{'offered':>9}{'rps':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'503':>7}{'err':>6}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        s = r.summary()
        offered = f"{s['offered_rps']:.0f}" if s["offered_rps"] else "-"
        rows.append(
            f"{r.label[:35]:<36}{r.mode:>7}{offered:>9}{s['throughput_rps']:>8.0f}"
            f"{1e3 * s['p50_s']:>9.1f}{1e3 * s['p99_s']:>9.1f}{s['shed_503']:>7}{s['errors']:>6}"
        )
    return "\n".join(rows)


def _target(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"url must look like http://127.0.0.1:8000, got {url!r}")
    return parts.hostname, parts.port or 80


def run_open_loop(
    url: str,
    schedule: np.ndarray,
    *,
    user_ids: Sequence[int] | np.ndarray,
    k: int = 10,
    timeout_s: float = 5.0,
    max_connections: int = 512,
    label: str = "",
) -> HttpLoadResult:
    """Send request ``i`` at ``schedule[i]`` seconds after the start, come what may.

    Parameters
    ----------
    url
        Base URL of the service (``http://127.0.0.1:PORT``).
    schedule
        Sorted send offsets in seconds (:func:`~labkit.scaling.traffic.poisson_schedule`, ...).
    user_ids
        The user of each request (cycled if shorter than the schedule).
    k
        Items asked for.
    timeout_s
        A request unanswered this long after it was sent counts as a timeout.
    max_connections
        Sockets the generator may open; requests beyond wait for one (and are charged for it).
    label
        Name in tables.
    """
    schedule = np.asarray(schedule, dtype=np.float64)
    if schedule.ndim != 1 or (len(schedule) > 1 and np.any(np.diff(schedule) < 0)):
        raise ValueError("schedule must be a sorted 1-D array of send offsets in seconds")
    if len(user_ids) == 0:
        raise ValueError("user_ids must not be empty")
    k = check_int(k, "k", min_val=1)
    timeout_s = check_real(timeout_s, "timeout_s", min_val=0, include_boundaries="neither")
    max_connections = check_int(max_connections, "max_connections", min_val=1)
    host, port = _target(url)
    n = len(schedule)
    users = np.resize(np.asarray(user_ids), n)
    offered = n / schedule[-1] if n > 1 and schedule[-1] > 0 else None

    async def main() -> HttpLoadResult:
        loop = asyncio.get_running_loop()
        pool = ConnectionPool(host, port, max_connections)
        sent = np.full(n, np.nan)
        done = np.full(n, np.nan)
        status = np.full(n, STATUS_ERROR, dtype=np.int64)
        raws = [pool.build("GET", f"/recommend?user_id={int(u)}&k={k}") for u in users]
        start = loop.time() + 0.02

        async def one(i: int) -> None:
            sent[i] = loop.time() - start
            try:
                response = await asyncio.wait_for(pool.request(raws[i]), timeout_s)
            except TimeoutError:
                status[i] = STATUS_TIMEOUT
                return
            except HTTPError:
                return
            done[i] = loop.time() - start
            status[i] = response.status

        tasks = []
        for i, offset in enumerate(schedule.tolist()):
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(loop.create_task(one(i)))
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s + 5.0)
        for task in tasks:
            task.cancel()
        await pool.close()
        wall = float(np.nanmax(done)) if np.isfinite(done).any() else float(schedule[-1])
        return HttpLoadResult("open", label, offered, schedule, sent, done, status, max(wall, 1e-9))

    return run_coroutine(main())


def run_closed_loop(
    url: str,
    *,
    user_ids: Sequence[int] | np.ndarray,
    concurrency: int = 16,
    duration_s: float = 5.0,
    max_requests: int = 100_000,
    think_time_s: float = 0.0,
    k: int = 10,
    timeout_s: float = 5.0,
    label: str = "",
) -> HttpLoadResult:
    """``concurrency`` virtual users, each sending its next request when the last is answered.

    Stops after ``duration_s`` or ``max_requests``, whichever comes first; latency is measured
    from each request's actual send time, as closed-loop tools report it.
    """
    concurrency = check_int(concurrency, "concurrency", min_val=1)
    duration_s = check_real(duration_s, "duration_s", min_val=0, include_boundaries="neither")
    max_requests = check_int(max_requests, "max_requests", min_val=1)
    think_time_s = check_real(think_time_s, "think_time_s", min_val=0, unit="seconds")
    k = check_int(k, "k", min_val=1)
    timeout_s = check_real(timeout_s, "timeout_s", min_val=0, include_boundaries="neither")
    host, port = _target(url)
    users = np.asarray(user_ids)
    if len(users) == 0:
        raise ValueError("user_ids must not be empty")
    raws_cache: dict[int, bytes] = {}

    async def main() -> HttpLoadResult:
        loop = asyncio.get_running_loop()
        pool = ConnectionPool(host, port, concurrency)
        sent: list[float] = []
        done: list[float] = []
        status: list[int] = []
        start = loop.time()
        end = start + duration_s

        async def user() -> None:
            while loop.time() < end and len(sent) < max_requests:
                i = len(sent)
                uid = int(users[i % len(users)])
                raw = raws_cache.get(uid)
                if raw is None:
                    raw = raws_cache[uid] = pool.build("GET", f"/recommend?user_id={uid}&k={k}")
                sent.append(loop.time() - start)
                done.append(math.nan)
                status.append(STATUS_ERROR)
                try:
                    response = await asyncio.wait_for(pool.request(raw), timeout_s)
                except TimeoutError:
                    status[i] = STATUS_TIMEOUT
                    continue
                except HTTPError:
                    await asyncio.sleep(0.01)  # do not spin on a refused connection
                    continue
                done[i] = loop.time() - start
                status[i] = response.status
                if think_time_s > 0:
                    await asyncio.sleep(think_time_s)

        await asyncio.gather(*(user() for _ in range(concurrency)))
        await pool.close()
        sent_a = np.array(sent)
        done_a = np.array(done)
        wall = float(np.nanmax(done_a)) if np.isfinite(done_a).any() else duration_s
        return HttpLoadResult(
            "closed",
            label,
            None,
            sent_a.copy(),
            sent_a,
            done_a,
            np.array(status, dtype=np.int64),
            wall,
            {"concurrency": concurrency},
        )

    return run_coroutine(main())

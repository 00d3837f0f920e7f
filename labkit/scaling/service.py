"""The recommendation service: a Starlette ASGI app with batching, caching and load shedding.

Endpoints
---------
``GET /recommend?user_id=7&k=10`` or ``POST /recommend`` with ``{"user_id": 7, "k": 10}``
    Top-k items for a user: ``{"user_id", "k", "items", "scores", "cached"}``.
``GET /healthz``
    Liveness: the process and its event loop answer.
``GET /readyz``
    Readiness: 200 once the model is loaded and warmed up, 503 while starting or draining.
``GET /metrics``
    Prometheus text format (see :func:`make_metrics`).

A request passes the hot-user cache (lab 02's :class:`~labkit.inference.cache.LRUCache`), then
joins the bounded queue of lab 02's :class:`~labkit.inference.batcher.DynamicBatcher`, which
scores the users waiting together in one matrix product. A full queue
answers **503 with Retry-After** immediately, so overload costs the client one round trip instead
of an ever-growing wait; a request that cannot be answered within ``timeout_s`` gets
**504**. Bad input gets a **4xx with a JSON error** naming what was wrong. On shutdown the app
stops taking new work but finishes every request it accepted (the batcher drains its queue), and
prints a ``drained`` line with its accepted and completed counts.

Examples
--------
>>> registry, m = make_metrics()
>>> m["requests"].inc(endpoint="/recommend", status=200)
>>> "labkit_requests_total" in registry.render()
True
>>> ServiceConfig(max_batch_size=0)
Traceback (most recent call last):
...
ValueError: max_batch_size must be an integer >= 1, got 0
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from labkit._validate import check_int, check_real
from labkit.inference.batcher import (
    BatcherClosedError,
    DynamicBatcher,
    QueueFullError,
    RequestTimeoutError,
)
from labkit.inference.cache import LRUCache
from labkit.scaling._asgi import Instrument, as_int, error, http_error, read_params
from labkit.scaling.metrics import Registry
from labkit.scaling.recommender import Recommender

__all__ = ["ServiceConfig", "create_app", "make_metrics"]

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
KNOWN_PATHS = ("/recommend", "/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class ServiceConfig:
    """Everything that shapes the service's behaviour (see ``python -m labkit.scaling.serve``).

    Attributes
    ----------
    model_path
        A model written by :meth:`Recommender.save` (ignored when a recommender is passed in).
    max_batch_size, max_queue_delay_s
        Micro-batching: largest batch, and how long the oldest request may wait for it to fill.
        ``max_batch_size=1`` serves every request alone.
    max_queue_size
        Requests allowed to wait for the model; beyond that the service sheds load (503).
    timeout_s
        Longest a request may wait in the queue; a request not taken into a batch by then
        gets 504.

    The batching fields carry the names of the
    :class:`~labkit.inference.batcher.DynamicBatcher` arguments they are passed to.
    retry_after_s
        The ``Retry-After`` header sent with 503.
    cache_size, cache_ttl_s
        Hot-user cache entries and their lifetime; ``cache_size=0`` disables the cache.
    max_k
        Largest ``k`` a client may ask for.
    max_body_bytes
        Largest request body accepted (413 beyond).
    torch_threads
        PyTorch intra-op threads per worker process; with several workers per pod, their
        product with the workers should not exceed the pod's CPU limit.
    """

    model_path: str | None = None
    max_batch_size: int = 32
    max_queue_delay_s: float = 0.002
    max_queue_size: int = 256
    timeout_s: float = 2.0
    retry_after_s: int = 1
    cache_size: int = 10_000
    cache_ttl_s: float = 30.0
    max_k: int = 100
    max_body_bytes: int = 16_384
    torch_threads: int = 1

    def __post_init__(self) -> None:
        positive = {"min_val": 0, "include_boundaries": "neither"}
        counts = ("max_batch_size", "max_queue_size", "max_k", "max_body_bytes", "torch_threads")
        fields = {name: check_int(getattr(self, name), name, min_val=1) for name in counts}
        fields["cache_size"] = check_int(self.cache_size, "cache_size", min_val=0)
        fields["retry_after_s"] = check_int(self.retry_after_s, "retry_after_s", min_val=0)
        fields["max_queue_delay_s"] = check_real(
            self.max_queue_delay_s, "max_queue_delay_s", min_val=0
        )
        fields["timeout_s"] = check_real(self.timeout_s, "timeout_s", **positive)
        fields["cache_ttl_s"] = check_real(self.cache_ttl_s, "cache_ttl_s", **positive)
        for name, value in fields.items():  # frozen: store the plain Python numbers
            object.__setattr__(self, name, value)


def make_metrics() -> tuple[Registry, dict[str, Any]]:
    """The service's metrics: a registry and the metric objects by short name."""
    reg = Registry()
    m = {
        "requests": reg.counter(
            "labkit_requests_total",
            "HTTP requests by endpoint and status code.",
            ["endpoint", "status"],
        ),
        "latency": reg.histogram(
            "labkit_request_duration_seconds", "Time from request to response.", ["endpoint"]
        ),
        "in_flight": reg.gauge("labkit_in_flight_requests", "Requests being handled now."),
        "queue_depth": reg.gauge("labkit_queue_depth", "Requests waiting for a batch."),
        "batch_size": reg.histogram(
            "labkit_batch_size", "Requests per model call.", buckets=BATCH_BUCKETS
        ),
        "queue_wait": reg.histogram(
            "labkit_queue_wait_seconds", "Time a request waited before its batch started."
        ),
        "compute": reg.histogram(
            "labkit_batch_compute_seconds", "Model time per batch (scoring and top-k)."
        ),
        "cache": reg.counter("labkit_cache_requests_total", "Cache lookups.", ["result"]),
        "shed": reg.counter("labkit_shed_requests_total", "Requests refused with 503."),
        "timeouts": reg.counter("labkit_timeouts_total", "Requests answered with 504."),
        "model_load": reg.gauge("labkit_model_load_seconds", "Time to load the model."),
        "ready": reg.gauge("labkit_ready", "1 when the worker takes traffic."),
    }
    return reg, m


class _State:
    def __init__(
        self,
        config: ServiceConfig,
        recommender: Recommender | None,
        on_event: Callable[..., None] | None,
    ) -> None:
        self.config = config
        self.on_event = on_event or (lambda event, **fields: None)
        self.recommender = recommender
        self.registry, self.metrics = make_metrics()
        self.cache: LRUCache[tuple[int, int], dict[str, list]] | None = None
        if config.cache_size > 0:
            self.cache = LRUCache(config.cache_size, ttl_s=config.cache_ttl_s)
        self.batcher: DynamicBatcher[_Job, tuple[list[int], list[float]]] | None = None
        self.ready = False
        self.draining = False
        self.accepted = 0
        self.completed = 0

    def predict(self, batch: list[_Job]) -> list[tuple[list[int], list[float]]]:
        """One model call for a batch of requests; runs in a worker thread."""
        assert self.recommender is not None
        start = time.perf_counter()
        k_max = max(job.k for job in batch)
        items, scores = self.recommender.recommend([job.user for job in batch], k=k_max)
        items_l, scores_l = items.tolist(), scores.tolist()
        m = self.metrics  # thread-safe: each metric holds a lock
        m["compute"].observe(time.perf_counter() - start)
        m["batch_size"].observe(len(batch))
        for job in batch:
            m["queue_wait"].observe(start - job.enqueued_at)
        return [(items_l[i][: job.k], scores_l[i][: job.k]) for i, job in enumerate(batch)]


@dataclass(frozen=True)
class _Job:
    user: int
    k: int
    enqueued_at: float


async def recommend(request: Request) -> Response:
    state: _State = request.app.state.labkit
    cfg = state.config
    params = await read_params(request, cfg.max_body_bytes)
    if isinstance(params, Response):
        return params
    if "user_id" not in params:
        return error(422, "user_id is required")
    user = as_int(params["user_id"])
    if user is None:
        return error(422, f"user_id must be an integer, got {params['user_id']!r}")
    k = as_int(params.get("k", 10))
    if k is None or not 1 <= k <= cfg.max_k:
        return error(422, f"k must be an integer in [1, {cfg.max_k}], got {params.get('k')!r}")
    if not state.ready or state.recommender is None:  # while draining we still serve
        state.metrics["shed"].inc()
        return error(503, "not ready", {"Retry-After": str(cfg.retry_after_s)})
    n_users = state.recommender.n_users
    if not 0 <= user < n_users:
        return error(404, f"unknown user_id {user}: users are 0..{n_users - 1}")
    k = min(k, state.recommender.n_items)

    cached = state.cache.get((user, k)) if state.cache is not None else None
    state.metrics["cache"].inc(result="hit" if cached is not None else "miss")
    if cached is not None:
        state.accepted += 1
        state.completed += 1
        return JSONResponse({"user_id": user, "k": k, **cached, "cached": True})

    assert state.batcher is not None
    state.accepted += 1  # admitted unless the queue refuses it right away (no await before)
    try:
        items, scores = await state.batcher.submit(_Job(user, k, time.perf_counter()))
    except (QueueFullError, BatcherClosedError):
        state.accepted -= 1
        state.metrics["shed"].inc()
        return error(503, "overloaded, retry later", {"Retry-After": str(cfg.retry_after_s)})
    except RequestTimeoutError:
        state.completed += 1
        state.metrics["timeouts"].inc()
        return error(504, f"not served within {cfg.timeout_s} s")
    except Exception as err:  # the model failed on this batch: answer, and keep serving
        state.completed += 1
        return error(500, f"recommendation failed: {type(err).__name__}")
    finally:
        state.metrics["queue_depth"].set(state.batcher.pending)
    result = {"items": items, "scores": [round(s, 5) for s in scores]}
    if state.cache is not None:
        state.cache.put((user, k), result)
    state.completed += 1
    return JSONResponse({"user_id": user, "k": k, **result, "cached": False})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state: _State = request.app.state.labkit
    if state.ready and not state.draining:
        return JSONResponse({"status": "ready"})
    reason = "draining" if state.draining else "starting"
    return JSONResponse({"status": reason}, 503)


async def metrics(request: Request) -> Response:
    state: _State = request.app.state.labkit
    if state.batcher is not None:
        state.metrics["queue_depth"].set(state.batcher.pending)
    return PlainTextResponse(
        state.registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


def create_app(
    config: ServiceConfig | None = None,
    recommender: Recommender | None = None,
    on_event: Callable[..., None] | None = None,
) -> Any:
    """The ASGI application.

    Parameters
    ----------
    config
        Service settings; default :class:`ServiceConfig()`.
    recommender
        A model in memory; when ``None`` the app loads ``config.model_path`` at start-up.
    on_event
        ``on_event(name, **fields)`` for life-cycle events (``model_loaded``, ``ready``,
        ``drained``); the server process prints them as JSON lines.
    """
    config = config or ServiceConfig()
    if recommender is None and config.model_path is None:
        raise ValueError("give a recommender or a ServiceConfig with model_path")
    state = _State(config, recommender, on_event)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import torch

        # The worker process serves this app only: size PyTorch's thread pool for it once.
        torch.set_num_threads(config.torch_threads)
        if state.recommender is None:
            start = time.perf_counter()
            state.recommender = await asyncio.to_thread(Recommender.load, config.model_path)
            state.metrics["model_load"].set(time.perf_counter() - start)
            state.on_event(
                "model_loaded", seconds=time.perf_counter() - start, model=config.model_path
            )
        state.batcher = DynamicBatcher(
            state.predict,
            max_batch_size=config.max_batch_size,
            max_queue_delay_s=config.max_queue_delay_s,
            max_queue_size=config.max_queue_size,
            timeout_s=config.timeout_s,
        )
        await state.batcher.submit(_Job(0, 1, time.perf_counter()))  # warm-up: one-off costs
        state.ready = True
        state.metrics["ready"].set(1)
        state.on_event("ready", config=asdict(config))
        try:
            yield
        finally:
            state.draining = True
            state.metrics["ready"].set(0)
            await state.batcher.close()  # everything admitted is answered before we exit
            state.on_event("drained", accepted=state.accepted, completed=state.completed)

    app = Starlette(
        routes=[
            Route("/recommend", recommend, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.labkit = state
    app.add_middleware(Instrument, metrics=state.metrics, known_paths=KNOWN_PATHS)
    return app

"""Run the recommendation service: ``python -m labkit.scaling.serve --model model.pt``.

One process binds the listening socket. With ``--workers 1`` it serves on it itself; with more,
it starts that many worker processes that accept on the same socket (the kernel spreads the
connections) and forwards SIGTERM/SIGINT to them. Each worker is uvicorn running the Starlette
app from :mod:`labkit.scaling.service` with its own model copy, batcher and metrics.

Shutdown follows what Kubernetes expects of a pod: on SIGTERM the worker marks itself not ready
(``/readyz`` → 503) and, after ``--drain-delay-s`` (time for the endpoints to drop it), stops
accepting connections, finishes every request in flight within ``--graceful-timeout-s``, lets
the batcher drain, prints a ``drained`` line and exits 0.

Life-cycle events go to stdout as JSON lines (``listening``, ``model_loaded``, ``ready``,
``draining``, ``drained``), so a parent (tests, the notebook, :class:`ServiceProcess`) can follow
start-up and measure cold starts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "emit", "main"]


def emit(event: str, **fields: Any) -> None:
    """Print one JSON line on stdout: how the process tells its parent what it is doing."""
    record = {"event": event, "pid": os.getpid(), "time": time.time(), **fields}
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m labkit.scaling.serve", description="Serve recommendations over HTTP."
    )
    p.add_argument("--model", required=True, help="model file written by Recommender.save")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--max-batch-size", type=int, default=32)
    p.add_argument(
        "--max-queue-delay-s",
        type=float,
        default=0.002,
        help="longest the oldest waiting request is held for a batch to fill",
    )
    p.add_argument("--max-queue-size", type=int, default=256, help="requests allowed to wait")
    p.add_argument("--timeout-s", type=float, default=2.0, help="per-request timeout")
    p.add_argument("--cache-size", type=int, default=10_000)
    p.add_argument("--cache-ttl-s", type=float, default=30.0)
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--drain-delay-s", type=float, default=0.0)
    p.add_argument("--graceful-timeout-s", type=float, default=10.0)
    p.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="shut down gracefully when this process is gone (a notebook kernel that died)",
    )
    p.add_argument("--worker-fd", type=int, default=None, help=argparse.SUPPRESS)
    return p


def _config(args: argparse.Namespace) -> Any:
    from labkit.scaling.service import ServiceConfig

    return ServiceConfig(
        model_path=args.model,
        max_batch_size=args.max_batch_size,
        max_queue_delay_s=args.max_queue_delay_s,
        max_queue_size=args.max_queue_size,
        timeout_s=args.timeout_s,
        cache_size=args.cache_size,
        cache_ttl_s=args.cache_ttl_s,
        torch_threads=args.torch_threads,
    )


def _serve(sock: socket.socket, args: argparse.Namespace) -> None:
    """Run one uvicorn worker on an already listening socket until it is told to stop."""
    import uvicorn

    from labkit.scaling.service import create_app

    app = create_app(_config(args), on_event=emit)
    state = app.state.labkit

    class DrainingServer(uvicorn.Server):
        """On the first SIGTERM/SIGINT: fail readiness, wait, then shut down gracefully."""

        draining_started = False

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.draining_started:  # a second signal: let uvicorn force the exit
                super().handle_exit(sig, frame)
                return
            self.draining_started = True
            state.draining = True
            emit("draining", signal=int(sig))
            if args.drain_delay_s > 0:
                threading.Timer(
                    args.drain_delay_s, lambda: setattr(self, "should_exit", True)
                ).start()
            else:
                self.should_exit = True

    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=args.graceful_timeout_s,
        timeout_keep_alive=5,
    )
    DrainingServer(config).run(sockets=[sock])


def _supervise(sock: socket.socket, args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Start ``args.workers`` worker processes on ``sock``; forward signals; wait for all."""
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "labkit.scaling.serve", *argv, "--worker-fd", str(fd)],
            pass_fds=(fd,),
        )
        for _ in range(args.workers)
    ]

    def forward(sig: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    sock.close()
    emit("stopped", exit_codes=codes)
    return max((abs(c) for c in codes), default=0)


def _watch_parent(pid: int) -> None:
    """SIGTERM ourselves (a graceful drain) once ``pid`` no longer exists."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except PermissionError:  # exists, owned by someone else
                continue

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    if args.worker_fd is not None:  # a worker started by the supervisor
        sock = socket.socket(fileno=args.worker_fd)
        _serve(sock, args)
        return 0
    if not os.path.isfile(args.model):
        raise SystemExit(f"--model {args.model!r}: no such file")
    _config(args)  # validate every setting before binding anything
    if args.parent_pid is not None:
        _watch_parent(args.parent_pid)
    sock = socket.create_server((args.host, args.port), backlog=2048, reuse_port=False)
    emit("listening", host=args.host, port=sock.getsockname()[1], workers=args.workers)
    if args.workers == 1:
        _serve(sock, args)
        return 0
    return _supervise(sock, args, argv)


if __name__ == "__main__":
    sys.exit(main())

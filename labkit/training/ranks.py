"""Run a function on several ranks of a gloo process group, from a notebook or a test.

``torchrun`` (see :mod:`labkit.training.ddp`) starts fresh interpreters, which cannot see a
function defined in a notebook. :func:`run_ranks` forks instead: each child inherits the
caller's code, joins a gloo group through a ``FileStore`` in a private temporary folder (no
port to pick), runs ``fn(rank, world_size, *args)`` and sends back its pickled result. A child
never returns into the parent's code: it leaves with ``os._exit``, so nothing the parent holds
(a Jupyter kernel's sockets, atexit hooks) runs twice. Fork is the POSIX start method; on
Windows this module raises.

Examples
--------
>>> def total(rank, world_size):
...     import torch
...     import torch.distributed as dist
...     t = torch.tensor([float(rank + 1)])
...     dist.all_reduce(t)  # sum over ranks
...     return t.item()
>>> run_ranks(total, 2)
[3.0, 3.0]
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from multiprocessing import connection
from typing import Any

from labkit._validate import check_int, check_real

__all__ = ["run_ranks"]


def _child(fn, rank: int, world_size: int, args: tuple, store_path: str, conn, timeout_s: float):
    import torch
    import torch.distributed as dist

    # The parent's stdout may be a Jupyter socket that must not be written from a fork.
    sys.stdout = sys.stderr = io.StringIO()
    status = 1
    try:
        torch.set_num_threads(1)  # world_size processes share the cores
        if sys.platform.startswith("linux"):
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback: no network needed
        store = dist.FileStore(store_path, world_size)
        dist.init_process_group(
            "gloo", store=store, rank=rank, world_size=world_size,
            timeout=timedelta(seconds=timeout_s),
        )  # fmt: skip
        try:
            conn.send_bytes(pickle.dumps(("ok", fn(rank, world_size, *args))))
        finally:
            dist.destroy_process_group()
        status = 0
    except BaseException:  # the parent reports it, with the rank
        conn.send_bytes(pickle.dumps(("error", traceback.format_exc())))
    finally:
        conn.close()
        os._exit(status)


def run_ranks(
    fn: Callable[..., Any], world_size: int = 2, *args: Any, timeout_s: float = 120.0
) -> list[Any]:
    """``[fn(0, world_size, *args), ..., fn(world_size - 1, world_size, *args)]``, one process each.

    Every call runs with ``torch.distributed`` initialized (gloo, CPU tensors), so ``fn`` may
    call ``dist.all_reduce`` and friends or wrap a model in ``DistributedDataParallel``. Results
    must pickle. An exception on any rank raises ``RuntimeError`` with that rank's traceback; a
    rank that has not finished after ``timeout_s`` seconds is killed and reported the same way.
    """
    world_size = check_int(world_size, "world_size", min_val=1)
    timeout_s = check_real(
        timeout_s, "timeout_s", min_val=0, include_boundaries="neither", unit="seconds"
    )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError("run_ranks needs the 'fork' start method (Linux or macOS)")
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="labkit-ranks-") as tmp:
        store_path = os.path.join(tmp, "store")
        pipes, procs = [], []
        for rank in range(world_size):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_child, args=(fn, rank, world_size, args, store_path, send, timeout_s)
            )
            proc.start()
            send.close()
            pipes.append(receive)
            procs.append(proc)
        outcomes: dict[int, tuple[str, Any]] = {}
        try:
            outcomes = _collect(pipes, procs, timeout_s)
        finally:
            failed = len(outcomes) < world_size or any(k != "ok" for k, _ in outcomes.values())
            for proc in procs:
                if failed:
                    proc.kill()
                proc.join()
    errors = [f"rank {r} of {world_size} failed:\n{v}" for r, (k, v) in sorted(outcomes.items())
              if k != "ok"]  # fmt: skip
    missing = [r for r in range(world_size) if r not in outcomes]
    if missing:
        errors.append(f"ranks {missing} sent no result within timeout_s={timeout_s} s")
    if errors:
        raise RuntimeError("\n".join(errors))
    return [outcomes[r][1] for r in range(world_size)]


def _collect(pipes, procs, timeout_s: float) -> dict[int, tuple[str, Any]]:
    """Every rank's (kind, value); after the first error, the others get a moment to report
    theirs (often the consequence: a peer's connection reset) and are not waited for longer."""
    outcomes: dict[int, tuple[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    waiting = dict(enumerate(pipes))
    while waiting:
        ready = connection.wait(list(waiting.values()), max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        for rank in [r for r, pipe in waiting.items() if pipe in ready]:
            try:
                outcomes[rank] = pickle.loads(waiting.pop(rank).recv_bytes())
            except EOFError:  # it exited without sending: killed, or crashed in C code
                procs[rank].join(5)
                outcomes[rank] = ("error", f"died (exit code {procs[rank].exitcode})")
            if outcomes[rank][0] != "ok":
                deadline = min(deadline, time.monotonic() + 2.0)
    return outcomes

"""Grading a class on a running Dask cluster: one task per submission, merged by the client.

``labkit grade-class SUBMISSIONS --scheduler tcp://HOST:PORT`` (:mod:`labkit.grading.classgrade`)
connects to a ``dask scheduler`` whose ``dask worker`` processes run in environments with labkit
and the course installed, possibly on other machines. Nothing is written before the cluster has
answered and every worker passed :func:`check_workers`: the same ``labkit.__version__`` as the
client, the same source notebooks for every lab (:func:`~labkit.grading._worker.lab_digest`), and
a grading sandbox that starts (unless the caller turned it off).

Each submission's notebooks travel in its task as bytes; a worker builds and caches its own
per-lab template from its installed course, grades in a scratch folder, and sends back grades
and files (:class:`~labkit.grading._worker.WorkerResult`). Workers never see the gradebook.

A worker lost mid-task (killed, out of memory, its machine gone) costs no submission: the
scheduler runs the task again on another worker, up to its ``distributed.scheduler.allowed-failures``
(3 by default) worker deaths; past that the submission is reported "failed" and the next run
grades it. An exception inside a task is retried once elsewhere (``retries=1``). The client's
merge is idempotent (:func:`~labkit.grading._merge.merge`), so a result is counted once.

Grade with one thread per worker process (``dask worker ADDR --nthreads 1 --nworkers N``): an
nbgrader run swaps process-wide state, so a worker grades one submission at a time whatever its
thread count.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

from labkit.grading._worker import GradeTask, WorkerResult, grade_one, lab_digest

__all__ = ["check_workers", "connect", "dashboard", "results"]

CONNECT_TIMEOUT_S = 5.0  # an address that does not answer is an error this fast
WORKER_WAIT_S = 30.0  # a scheduler without workers is refused after this long
INSTALL_HINT = "install labkit[cluster] (pip install 'labkit[cluster]')"

_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise ValueError(f"--scheduler needs Dask distributed ({err}): {INSTALL_HINT}") from None
    return distributed


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``; ``ValueError`` if none answers.

    Examples
    --------
    >>> connect("localhost:8786")
    Traceback (most recent call last):
    ...
    ValueError: scheduler='localhost:8786' is not a Dask scheduler address; expected tcp://HOST:PORT (or tls://, ws://, wss://)
    """
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(
            f"scheduler={address!r} is not a Dask scheduler address; "
            "expected tcp://HOST:PORT (or tls://, ws://, wss://)"
        )
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"no Dask scheduler answers at {address} within {timeout_s:g} s ({reason}); "
            f"start one with `dask scheduler` and workers with `dask worker {address}`"
        ) from None


def dashboard(client: Any) -> str | None:
    """The scheduler's dashboard link, or None when it serves none."""
    try:
        if "dashboard" not in client.scheduler_info(n_workers=0).get("services", {}):
            return None  # no bokeh on the scheduler, or --no-dashboard
        return client.dashboard_link
    except Exception:  # a link is a convenience: never a reason to stop grading
        return None


def _worker_facts(labs: list[str], sandbox: bool) -> dict[str, Any]:
    """Run on each worker: its course's lab digests and whether its sandbox starts."""
    from labkit.grading.sandbox import probe

    facts: dict[str, Any] = {"digests": {lab: lab_digest(lab) for lab in labs}}
    if sandbox:
        status = probe()
        facts["sandbox"] = (status.works, status.detail)
    return facts


def check_workers(client: Any, labs: list[str], sandbox: bool) -> int:
    """Refuse (``ValueError``) a cluster that cannot grade like this client; returns its workers.

    Every worker must import labkit at the client's ``labkit.__version__``, hold the same source
    notebooks for ``labs`` and, with ``sandbox``, start the grading sandbox.
    """
    from labkit import __version__

    address = client.scheduler.address
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        raise ValueError(
            f"the Dask scheduler at {address} has no worker after {WORKER_WAIT_S:g} s; start "
            f"some with `dask worker {address} --nthreads 1`"
        ) from None
    # builtins.eval, not a labkit function: a worker without labkit could not even unpickle one,
    # and would report a pickling error instead of the missing package
    versions = client.run(eval, "__import__('labkit').__version__", on_error="return")
    problems = []
    for worker, version in sorted(versions.items()):
        if isinstance(version, BaseException):
            problems.append(
                f"worker {worker} cannot import labkit ({type(version).__name__}: {version})"
            )
        elif version != __version__:
            problems.append(f"worker {worker} runs labkit {version}")
    if problems:
        raise ValueError(
            f"{'; '.join(problems)}, but this client runs labkit {__version__}: "
            f"{INSTALL_HINT} at version {__version__}, with the same course, on every worker"
        )
    mine = {lab: lab_digest(lab) for lab in labs}
    facts = client.run(_worker_facts, labs, sandbox, on_error="return")
    for worker, got in sorted(facts.items()):
        if isinstance(got, BaseException):
            problems.append(f"worker {worker} failed its checks ({type(got).__name__}: {got})")
            continue
        differ = sorted(lab for lab in labs if got["digests"].get(lab) != mine[lab])
        if differ:
            problems.append(
                f"worker {worker}'s course differs from this client's for {', '.join(differ)} "
                "(install the same course on every worker)"
            )
        if sandbox and not got["sandbox"][0]:
            problems.append(
                f"the grading sandbox cannot start on worker {worker} ({got['sandbox'][1]}); "
                "install bubblewrap there, or pass --no-sandbox to run learners' code with the "
                "workers' rights"
            )
    if problems:
        raise ValueError("; ".join(problems))
    return len(facts)


def results(client: Any, tasks: list[GradeTask]) -> Iterator[tuple[GradeTask, WorkerResult]]:
    """Submit one task per submission and yield each result as it finishes, in any order."""
    distributed = _distributed()
    futures = {}
    for task in tasks:
        key = f"grade-{task.lab}-{task.student}-{uuid.uuid4().hex[:8]}"
        futures[client.submit(grade_one, task, key=key, retries=1, pure=False)] = task
    for future in distributed.as_completed(futures, loop=client.loop):
        try:
            res: WorkerResult = future.result()
        except (Exception, asyncio.CancelledError) as err:  # KilledWorker: the next run grades it
            res = WorkerResult.failure(f"{type(err).__name__}: {err}")
        yield futures.pop(future), res
        future.release()

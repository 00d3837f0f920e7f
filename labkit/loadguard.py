"""Is the machine quiet enough for a benchmark's numbers to be quoted?

Other programs' load distorts a comparison unevenly: a one-at-a-time baseline loses more to a
busy machine than a batched or optimized variant, so ratios measured under load flatter the
remedy. :class:`LoadGuard` samples the 1-minute load average once per ``interval_s`` while a
benchmark runs and judges the run by one rule:

    **noisy** when the load average exceeded the number of CPUs in more than a quarter of the
    samples taken during the run.

A benchmark's own threads count towards the load, so a run that keeps every core busy reads
about the CPU count; only *more* than that means something else competed for the cores. (The
1-minute average lags by tens of seconds, which is why the rule looks at the whole run rather
than one reading.) Scripts print :meth:`LoadGuard.header` before their tables and
:attr:`LoadReport.summary` after them; a noisy run says "NOISY — do not quote".

Examples
--------
>>> readings = iter([0.5, 0.7, 0.9, 3.5, 0.8, 0.6])
>>> with LoadGuard(interval_s=None, loadavg=lambda: next(readings), cpus=2) as guard:
...     guard.sample(); guard.sample(); guard.sample(); guard.sample()
>>> guard.report.noisy, guard.report.noisy_fraction
(False, 0.25)
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = ["NOISY_FRACTION", "LoadGuard", "LoadReport", "guarded"]

NOISY_FRACTION = 0.25  # share of samples above the CPU count beyond which a run is noisy


def _load1() -> float:
    return os.getloadavg()[0]


@dataclass(frozen=True)
class LoadReport:
    """The load seen during one run: readings before, after, and sampled in between."""

    cpus: int
    before: float
    after: float
    samples: tuple[float, ...]

    @property
    def peak(self) -> float:
        return max((self.before, self.after, *self.samples))

    @property
    def noisy_fraction(self) -> float:
        """Share of the samples in which the load average exceeded the CPU count."""
        if not self.samples:
            return float(self.after > self.cpus)
        return sum(x > self.cpus for x in self.samples) / len(self.samples)

    @property
    def noisy(self) -> bool:
        return self.noisy_fraction > NOISY_FRACTION

    @property
    def summary(self) -> str:
        line = (
            f"load average {self.before:.1f} → {self.after:.1f} on {self.cpus} CPUs "
            f"(peak {self.peak:.1f}; above {self.cpus} in {self.noisy_fraction:.0%} of "
            f"{len(self.samples)} samples)"
        )
        if self.noisy:
            line += (
                f"\nNOISY — do not quote: the load exceeded the CPU count in more than "
                f"{NOISY_FRACTION:.0%} of the run; rerun on a quiet machine"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "noisy_fraction": self.noisy_fraction, "noisy": self.noisy}


class LoadGuard:
    """Context manager sampling the load average in a daemon thread while a benchmark runs.

    ``interval_s=None`` takes no samples by itself (call :meth:`sample`); ``loadavg`` and
    ``cpus`` replace ``os.getloadavg()[0]`` and ``os.cpu_count()`` (for tests).
    """

    def __init__(
        self,
        *,
        interval_s: float | None = 1.0,
        loadavg: Callable[[], float] = _load1,
        cpus: int | None = None,
    ) -> None:
        if interval_s is not None and not interval_s > 0:
            raise ValueError(
                f"interval_s must be a positive number of seconds or None, got {interval_s!r}"
            )
        self.interval_s = interval_s
        self._loadavg = loadavg
        self.cpus = cpus if cpus is not None else (os.cpu_count() or 1)
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.before: float | None = None
        self.report: LoadReport | None = None

    def header(self) -> str:
        """One line for the top of a benchmark's output: the machine and the load at the start."""
        before = self.before if self.before is not None else self._loadavg()
        return f"{self.cpus} CPUs; load average at start {before:.1f} (noisy-run rule: above {self.cpus} in more than {NOISY_FRACTION:.0%} of samples)"

    def sample(self) -> None:
        self._samples.append(self._loadavg())

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> LoadGuard:
        self.before = self._loadavg()
        if self.interval_s is not None:
            self._thread = threading.Thread(target=self._run, name="labkit-loadguard", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        assert self.before is not None
        self.report = LoadReport(self.cpus, self.before, self._loadavg(), tuple(self._samples))


def guarded(main: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a benchmark's ``main`` under a :class:`LoadGuard`: its header first, its verdict last.

    Every script in ``benchmarks/`` decorates its ``main`` with this, so every table it prints
    sits between the load at the start and the judgement of the whole run.
    """

    @functools.wraps(main)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with LoadGuard() as guard:
            print(guard.header(), flush=True)
            result = main(*args, **kwargs)
        assert guard.report is not None
        print(guard.report.summary, flush=True)
        return result

    return run

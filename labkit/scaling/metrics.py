"""Prometheus metrics: counters, gauges and histograms in the text exposition format 0.0.4.

The service exports what an operator needs to find a bottleneck — request counts by status,
latency histograms, requests in flight, queue depth, batch sizes, time spent queueing versus
computing, cache hits — at ``/metrics``, where Prometheus (and through the Prometheus adapter, the
Kubernetes HPA) reads them. :func:`parse_metrics` and :func:`histogram_quantile` read them back
the way PromQL would, so a notebook can compute a p99 from the same numbers a dashboard shows.

Examples
--------
>>> reg = Registry()
>>> hits = reg.counter("demo_hits_total", "Hits.", ["path"])
>>> hits.inc(path="/a"); hits.inc(2, path="/a")
>>> print(reg.render().strip())
# HELP demo_hits_total Hits.
# TYPE demo_hits_total counter
demo_hits_total{path="/a"} 3.0
>>> parse_metrics(reg.render())["demo_hits_total"][0].value
3.0
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Counter",
    "Gauge",
    "Histogram",
    "Registry",
    "Sample",
    "histogram_mean",
    "histogram_quantile",
    "parse_metrics",
]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _format(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return "NaN" if math.isnan(value) else repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not _NAME.match(name):
            raise ValueError(f"metric name {name!r} is not a valid Prometheus name")
        for label in labelnames:
            if not _LABEL.match(label) or label == "le":
                raise ValueError(f"label name {label!r} is not allowed")
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(
                f"{self.name} takes labels {list(self.labelnames)}, got {sorted(labels)}"
            )
        return tuple(str(labels[n]) for n in self.labelnames)

    def _lines(self) -> list[str]:
        raise NotImplementedError

    def render(self) -> str:
        head = [f"# HELP {self.name} {_escape(self.help)}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            body = self._lines()
        return "\n".join(head + body) + "\n"


class Counter(_Metric):
    """A value that only goes up (requests served, errors)."""

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._values: dict[tuple[str, ...], float] = {} if labelnames else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError(f"a counter only goes up; got amount={amount!r}")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def _lines(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_format(v)}"
            for k, v in sorted(self._values.items())
        ]


class Gauge(Counter):
    """A value that goes up and down (requests in flight, queue depth)."""

    kind = "gauge"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    """Counts of observations per bucket (cumulative, ``le`` = upper bound), sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help, labelnames)
        bounds = sorted(float(b) for b in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError("buckets must be a non-empty set of distinct numbers")
        if bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        self._counts: dict[tuple[str, ...], list[int]] = {}
        self._sums: dict[tuple[str, ...], float] = {}
        if not labelnames:
            self._counts[()] = [0] * len(self.buckets)
            self._sums[()] = 0.0

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            self._sums[key] = self._sums.get(key, 0.0) + value

    def _lines(self) -> list[str]:
        lines = []
        for key in sorted(self._counts):
            total = 0
            for bound, count in zip(self.buckets, self._counts[key], strict=True):
                total += count
                le = f'le="{_format(bound)}"'
                lines.append(
                    f"{self.name}_bucket{_labels(self.labelnames, key, le)} {_format(total)}"
                )
            labels = _labels(self.labelnames, key)
            lines.append(f"{self.name}_sum{labels} {_format(self._sums[key])}")
            lines.append(f"{self.name}_count{labels} {_format(total)}")
        return lines


class Registry:
    """The set of metrics one process exports."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> _Metric:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name!r} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help, labelnames))  # type: ignore[return-value]

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help, labelnames))  # type: ignore[return-value]

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return self._add(Histogram(name, help, labelnames, buckets))  # type: ignore[return-value]

    def render(self) -> str:
        """All metrics in the Prometheus text format (content type ``text/plain; version=0.0.4``)."""
        return "".join(m.render() for m in self._metrics.values())


@dataclass(frozen=True)
class Sample:
    """One line of an exposition: metric name (with suffix), labels, value."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_metrics(text: str) -> dict[str, list[Sample]]:
    """Samples of a text exposition grouped by sample name (``x_bucket``, ``x_sum``, ...).

    Comments and blank lines are skipped; a malformed line raises ``ValueError`` naming it.
    """
    out: dict[str, list[Sample]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise ValueError(f"line {number} is not a Prometheus sample: {line!r}")
        name, _, raw_labels, raw_value = match.group(1, 2, 3, 4)
        labels = {k: _unescape(v) for k, v in _PAIR.findall(raw_labels or "")}
        out.setdefault(name, []).append(Sample(name, labels, float(raw_value)))
    return out


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """PromQL's ``histogram_quantile``: linear interpolation inside the bucket holding rank q·n.

    ``buckets`` are ``(upper bound, cumulative count)`` pairs ending with ``+Inf``. A quantile
    that falls in the ``+Inf`` bucket returns the largest finite bound, as Prometheus does.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    pairs = sorted((float(b), float(c)) for b, c in buckets)
    if not pairs or pairs[-1][0] != math.inf:
        raise ValueError("buckets must end with the +Inf bucket")
    total = pairs[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in pairs:
        if count >= rank:
            if bound == math.inf:
                return pairs[-2][0] if len(pairs) > 1 else math.nan
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return math.nan


def histogram_mean(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    """``<name>_sum / <name>_count`` for the series with ``labels`` (NaN when empty)."""

    def pick(suffix: str) -> float:
        for s in samples.get(f"{name}{suffix}", []):
            if all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return math.nan

    count = pick("_count")
    return pick("_sum") / count if count else math.nan

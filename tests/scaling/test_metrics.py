"""Our Prometheus exposition read back by the official client's parser (the reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from labkit.scaling.metrics import Registry, histogram_mean, histogram_quantile, parse_metrics


def build():
    reg = Registry()
    c = reg.counter("t_requests_total", "Requests.", ["endpoint", "status"])
    g = reg.gauge("t_in_flight", "In flight.")
    h = reg.histogram("t_latency_seconds", "Latency.", ["endpoint"], buckets=[0.01, 0.1, 1.0])
    c.inc(endpoint="/a", status=200)
    c.inc(3, endpoint='/we"ird\\path\n', status=503)
    g.inc(5)
    g.dec(2)
    for v in (0.005, 0.05, 0.05, 0.5, 2.0):
        h.observe(v, endpoint="/a")
    return reg


def test_official_parser_reads_our_output():
    text = build().render()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["t_requests"].type == "counter"
    samples = {tuple(sorted(s.labels.items())): s.value for s in families["t_requests"].samples}
    assert samples[(("endpoint", "/a"), ("status", "200"))] == 1.0
    assert samples[(("endpoint", '/we"ird\\path\n'), ("status", "503"))] == 3.0
    assert families["t_in_flight"].samples[0].value == 3.0
    hist = families["t_latency_seconds"]
    assert hist.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.01": 1.0, "0.1": 3.0, "1.0": 4.0, "+Inf": 5.0}
    total = {s.name: s.value for s in hist.samples if not s.name.endswith("_bucket")}
    assert total["t_latency_seconds_count"] == 5.0
    assert total["t_latency_seconds_sum"] == pytest.approx(2.605)


def test_our_parser_agrees_with_official():
    text = build().render()
    ours = parse_metrics(text)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            match = [x for x in ours[s.name] if x.labels == s.labels]
            assert len(match) == 1 and match[0].value == pytest.approx(s.value)
    assert histogram_mean(ours, "t_latency_seconds", endpoint="/a") == pytest.approx(2.605 / 5)
    with pytest.raises(ValueError, match="line 1"):
        parse_metrics("not a metric line at all")


def test_histogram_quantile_like_promql():
    # PromQL: rank 0.5·5 = 2.5 falls in (0.01, 0.1] holding counts 1..3 → 0.01 + 0.09·1.5/2
    buckets = [(0.01, 1), (0.1, 3), (1.0, 4), (math.inf, 5)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.01 + 0.09 * 0.75)
    assert histogram_quantile(0.99, buckets) == 1.0  # in +Inf: the largest finite bound
    assert histogram_quantile(0.1, buckets) == pytest.approx(0.005)
    assert math.isnan(histogram_quantile(0.5, [(1.0, 0), (math.inf, 0)]))
    # against the exact quantile of many observations
    rng = np.random.default_rng(0)
    values = rng.exponential(0.05, 100_000)
    bounds = np.linspace(0.005, 0.5, 100)
    cum = [(b, float((values <= b).sum())) for b in bounds] + [(math.inf, len(values))]
    assert histogram_quantile(0.9, cum) == pytest.approx(np.quantile(values, 0.9), rel=0.02)


def test_validation():
    reg = Registry()
    reg.counter("a_total", "x")
    with pytest.raises(ValueError, match="already"):
        reg.counter("a_total", "x")
    with pytest.raises(ValueError, match="not a valid"):
        reg.gauge("bad-name", "x")
    c = reg.counter("b_total", "x", ["k"])
    with pytest.raises(ValueError, match="labels"):
        c.inc(other=1)
    with pytest.raises(ValueError, match="only goes up"):
        c.inc(-1, k="v")

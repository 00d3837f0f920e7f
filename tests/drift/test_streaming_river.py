"""The streaming detectors flag drift and warnings at exactly river 0.26.1's indices.

river itself is the reference (a pinned dev dependency). Streams come from hypothesis (raw
values and piecewise-stationary generators) and from seeded NumPy generators, for the default
and several non-default parameter settings, and across resets: river resets itself on the
update after a drift, and an explicit ``reset()`` must match river's ``_reset()``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

river = pytest.importorskip("river")
from river import drift as rdrift  # noqa: E402

from labkit.drift import ADWIN, DDM, EDDM, PageHinkley  # noqa: E402

assert river.__version__ == "0.26.1", "the reference is river 0.26.1 exactly"

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def trace(detector, stream, reset_at=()):
    """(index, drift, warning) for every flagged update; reset the detector at ``reset_at``."""
    out = []
    for i, x in enumerate(stream):
        if i in reset_at:
            if hasattr(detector, "_helper") or type(detector).__module__.startswith("river"):
                detector._reset()
            else:
                detector.reset()
        detector.update(x)
        warning = bool(getattr(detector, "warning_detected", False))
        if detector.drift_detected or warning:
            out.append((i, bool(detector.drift_detected), warning))
    return out


def assert_same(ours, theirs, stream, reset_at=()):
    got, expected = trace(ours, stream, reset_at), trace(theirs, stream, reset_at)
    assert got == expected


def piecewise(seed: int, n: int, binary: bool) -> list:
    """Piecewise-stationary stream with 1-4 segments of random level and noise."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, min(4, n - 1) + 1)) if n > 1 else 1
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False)) if k > 1 else []
    seg = np.searchsorted(cuts, np.arange(n), side="right")
    if binary:
        rates = rng.uniform(0.0, 0.8, size=k)
        return (rng.random(n) < rates[seg]).astype(int).tolist()
    means, scales = rng.normal(0, 2, size=k), rng.uniform(0.1, 2, size=k)
    values = means[seg] + scales[seg] * rng.standard_normal(n)
    if seed % 3 == 0:
        values = np.round(values, 1)  # ties and repeated values
    return values.tolist()


ADWIN_PARAMS = [
    {},
    {"delta": 0.05, "clock": 1},
    {"delta": 0.3, "clock": 4, "max_buckets": 2, "min_window_length": 1, "grace_period": 0},
    {"delta": 1e-5, "clock": 7, "max_buckets": 10, "min_window_length": 20, "grace_period": 100},
    {"delta": 0.01, "clock": 2, "max_buckets": 3, "min_window_length": 0, "grace_period": 5},
]
PH_PARAMS = [
    {},
    {"min_instances": 5, "delta": 0.0, "threshold": 5.0, "alpha": 0.99, "mode": "up"},
    {"min_instances": 0, "delta": 0.1, "threshold": 10.0, "alpha": 1.0, "mode": "down"},
    {"min_instances": 100, "delta": 0.005, "threshold": 20.0, "alpha": 0.9, "mode": "both"},
]
DDM_PARAMS = [
    {},
    {"warm_start": 0},
    {"warm_start": 5, "warning_threshold": 1.0, "drift_threshold": 2.0},
]
EDDM_PARAMS = [
    {},
    {"warm_start": 5, "alpha": 0.8, "beta": 0.75},
    {"warm_start": 0, "alpha": 1.0, "beta": 0.5},
]


# --- the examples in river's own docstrings and regression tests ------------------------------


def test_river_docstring_indices():
    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    adwin, ph = ADWIN(), PageHinkley()
    assert [i for i, v in enumerate(stream) if adwin.update(v).drift_detected] == [1023]
    assert [i for i, v in enumerate(stream) if ph.update(v).drift_detected] == [1006]

    rng = random.Random(42)
    bits = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    assert_same(DDM(), rdrift.binary.DDM(), bits)
    assert_same(EDDM(alpha=0.8, beta=0.75), rdrift.binary.EDDM(alpha=0.8, beta=0.75), bits)


def test_adwin_regression_three_changes():
    # river's ADWIN regression test: four segments, drifts at 1023, 2015 and 3007.
    rng = random.Random(42)
    stream = (
        rng.choices([0, 1], k=1000)
        + rng.choices(range(4, 8), k=1000)
        + rng.choices([0, 1], k=1000)
        + rng.choices(range(4, 8), k=1000)
    )
    adwin = ADWIN()
    assert [i for i, v in enumerate(stream) if adwin.update(v).drift_detected] == [1023, 2015, 3007]
    assert_same(ADWIN(), rdrift.ADWIN(), stream)


def test_adwin_numpy_integer_stream():
    data = np.random.RandomState(12345)
    stream = np.concatenate((data.randint(2, size=1000), data.randint(8, size=1000)))
    adwin = ADWIN()
    assert [i for i, v in enumerate(stream) if adwin.update(v).drift_detected] == [1023]


# --- seeded streams, every parameter setting --------------------------------------------------


@pytest.mark.parametrize("params", ADWIN_PARAMS)
@pytest.mark.parametrize("seed", range(12))
def test_adwin_seeded(params, seed):
    stream = piecewise(seed, 3000, binary=seed % 4 == 1)
    assert_same(ADWIN(**params), rdrift.ADWIN(**params), stream)


@pytest.mark.parametrize("params", PH_PARAMS)
@pytest.mark.parametrize("seed", range(12))
def test_page_hinkley_seeded(params, seed):
    stream = piecewise(seed, 3000, binary=False)
    assert_same(PageHinkley(**params), rdrift.PageHinkley(**params), stream)


@pytest.mark.parametrize("params", DDM_PARAMS)
@pytest.mark.parametrize("seed", range(12))
def test_ddm_seeded(params, seed):
    stream = piecewise(seed, 3000, binary=True)
    assert_same(DDM(**params), rdrift.binary.DDM(**params), stream)


@pytest.mark.parametrize("params", EDDM_PARAMS)
@pytest.mark.parametrize("seed", range(12))
def test_eddm_seeded(params, seed):
    stream = piecewise(seed, 3000, binary=True)
    assert_same(EDDM(**params), rdrift.binary.EDDM(**params), stream)


# --- hypothesis: arbitrary streams, parameters and explicit resets -----------------------------

values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
adwin_params = st.fixed_dictionaries(
    {
        "delta": st.sampled_from([0.002, 0.05, 0.5, 1e-4]),
        "clock": st.integers(1, 40),
        "max_buckets": st.integers(2, 8),
        "min_window_length": st.integers(0, 12),
        "grace_period": st.integers(0, 30),
    }
)


segments = st.lists(
    st.tuples(st.floats(-100, 100), st.floats(0, 10), st.integers(1, 400)), min_size=1, max_size=5
)


def from_segments(segs, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([lvl + sd * rng.standard_normal(k) for lvl, sd, k in segs]).tolist()


@SETTINGS
@given(
    stream=st.one_of(
        st.lists(values, max_size=600),
        st.builds(from_segments, segments, st.integers(0, 1000)),
    ),
    params=adwin_params,
    resets=st.sets(st.integers(0, 600), max_size=3),
)
def test_adwin_hypothesis_values(stream, params, resets):
    assert_same(ADWIN(**params), rdrift.ADWIN(**params), stream, resets)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4000),
    params=adwin_params,
    binary=st.booleans(),
)
def test_adwin_hypothesis_piecewise(seed, n, params, binary):
    stream = piecewise(seed, n, binary)
    assert_same(ADWIN(**params), rdrift.ADWIN(**params), stream, {n // 2})


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
    params=st.fixed_dictionaries(
        {
            "min_instances": st.integers(0, 60),
            "delta": st.sampled_from([0.0, 0.005, 0.1]),
            "threshold": st.sampled_from([1.0, 5.0, 20.0, 50.0]),
            "alpha": st.sampled_from([1.0, 0.9999, 0.99, 0.5]),
            "mode": st.sampled_from(["up", "down", "both"]),
        }
    ),
    resets=st.sets(st.integers(0, 3000), max_size=3),
)
def test_page_hinkley_hypothesis(seed, n, params, resets):
    stream = piecewise(seed, n, binary=False)
    assert_same(PageHinkley(**params), rdrift.PageHinkley(**params), stream, resets)


@SETTINGS
@given(
    stream=st.one_of(
        st.lists(st.sampled_from([0, 1, True, False]), max_size=1500),
        st.builds(
            lambda s, n: piecewise(s, n, True), st.integers(0, 2**32 - 1), st.integers(1, 3000)
        ),
    ),
    warm_start=st.integers(0, 50),
    thresholds=st.tuples(
        st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.sampled_from([1.0, 2.0, 3.0, 4.0])
    ),
    resets=st.sets(st.integers(0, 3000), max_size=3),
)
def test_ddm_hypothesis(stream, warm_start, thresholds, resets):
    params = {
        "warm_start": warm_start,
        "warning_threshold": thresholds[0],
        "drift_threshold": thresholds[1],
    }
    assert_same(DDM(**params), rdrift.binary.DDM(**params), stream, resets)


@SETTINGS
@given(
    stream=st.one_of(
        st.lists(st.sampled_from([0, 1]), max_size=1500),
        st.builds(
            lambda s, n: piecewise(s, n, True), st.integers(0, 2**32 - 1), st.integers(1, 3000)
        ),
    ),
    warm_start=st.integers(0, 50),
    levels=st.tuples(
        st.sampled_from([0.5, 0.8, 0.95, 1.0]), st.sampled_from([0.3, 0.5, 0.75, 0.9])
    ),
    resets=st.sets(st.integers(0, 3000), max_size=3),
)
def test_eddm_hypothesis(stream, warm_start, levels, resets):
    alpha, beta = max(levels), min(levels)
    params = {"warm_start": warm_start, "alpha": alpha, "beta": beta}
    assert_same(EDDM(**params), rdrift.binary.EDDM(**params), stream, resets)


def test_equivalence_suite_is_not_vacuous():
    """The seeded streams make every detector fire many times (so equality means something)."""
    counts = {name: 0 for name in ("ADWIN", "PageHinkley", "DDM", "EDDM", "warnings")}
    for seed in range(12):
        counts["ADWIN"] += sum(
            d for _, d, _ in trace(ADWIN(), piecewise(seed, 3000, seed % 4 == 1))
        )
        counts["PageHinkley"] += sum(
            d for _, d, _ in trace(PageHinkley(), piecewise(seed, 3000, False))
        )
        bits = piecewise(seed, 3000, True)
        counts["DDM"] += sum(d for _, d, _ in trace(DDM(), bits))
        counts["EDDM"] += sum(d for _, d, _ in trace(EDDM(), bits))
        counts["warnings"] += sum(w for _, _, w in trace(DDM(), bits))
    assert all(c >= 5 for c in counts.values()), counts


def test_adwin_state_matches_river():
    """Window statistics, not only the flags, follow river through cuts."""
    stream = piecewise(7, 5000, binary=False)
    ours, theirs = ADWIN(clock=8), rdrift.ADWIN(clock=8)
    for x in stream:
        ours.update(x)
        theirs.update(x)
        assert ours.width == theirs.width
        assert ours.total == theirs.total
        assert ours.variance == theirs.variance
        assert ours.estimation == theirs.estimation
        assert ours.n_detections == theirs.n_detections


def test_accepts_numpy_and_torch_scalars():
    import torch

    stream = piecewise(3, 2000, binary=True)
    for convert in (np.int64, np.float32, np.bool_, torch.tensor):
        assert trace(DDM(), [convert(v) for v in stream]) == trace(DDM(), stream)

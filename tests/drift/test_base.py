"""The detector hierarchy: river's shape, parameters read from the signature, strict arguments."""

from __future__ import annotations

import numpy as np
import pytest

from labkit._validate import ArgumentTypeError
from labkit.drift import ADWIN, DDM, EDDM, PageHinkley
from labkit.drift.base import BinaryDriftDetector, DriftDetector, WarningMixin, real_value
from labkit.drift.evaluation import AlwaysAlarm


@pytest.mark.parametrize(
    ("cls", "bases", "not_bases"),
    [
        (DDM, (DriftDetector, BinaryDriftDetector, WarningMixin), ()),
        (EDDM, (DriftDetector, BinaryDriftDetector, WarningMixin), ()),
        (PageHinkley, (DriftDetector,), (BinaryDriftDetector, WarningMixin)),
        (ADWIN, (DriftDetector,), (BinaryDriftDetector, WarningMixin)),
        (AlwaysAlarm, (DriftDetector,), (BinaryDriftDetector, WarningMixin)),
    ],
)
def test_hierarchy(cls, bases, not_bases):
    detector = cls()
    assert all(isinstance(detector, b) for b in bases)
    assert not any(isinstance(detector, b) for b in not_bases)
    assert hasattr(detector, "warning_detected") == isinstance(detector, WarningMixin)


def test_params_come_from_the_signature():
    assert DDM()._params == {"warm_start": 30, "warning_threshold": 2.0, "drift_threshold": 3.0}
    assert EDDM(alpha=0.9, beta=0.8)._params == {"warm_start": 30, "alpha": 0.9, "beta": 0.8}
    assert list(PageHinkley()._params) == [
        "min_instances",
        "delta",
        "threshold",
        "alpha",
        "mode",
    ]
    assert list(ADWIN()._params) == [
        "delta",
        "clock",
        "max_buckets",
        "min_window_length",
        "grace_period",
    ]
    assert AlwaysAlarm()._params == {}


def test_repr_and_clone():
    ph = PageHinkley(threshold=20.0, mode="up")
    assert repr(ph) == (
        "PageHinkley(min_instances=30, delta=0.005, threshold=20.0, alpha=0.9999, mode='up')"
    )
    assert repr(AlwaysAlarm()) == "AlwaysAlarm()"
    for _ in range(200):
        ph.update(5.0)
    twin = ph.clone()
    assert twin is not ph and twin._params == ph._params and twin._n == 0.0
    assert ph.clone({"mode": "down"}).mode == "down"
    assert repr(DDM(warm_start=np.int64(5))) == (
        "DDM(warm_start=5, warning_threshold=2.0, drift_threshold=3.0)"
    )


def test_reset_clears_drift_and_warning():
    ddm = DDM(warm_start=0)
    for e in [0] * 50 + [1] * 50:
        ddm.update(e)
        if ddm.drift_detected:
            break
    assert ddm.drift_detected
    ddm.reset()
    assert not ddm.drift_detected and not ddm.warning_detected and ddm.error_rate == 0.0


def test_update_must_be_implemented():
    class NoUpdate(DriftDetector):
        pass

    with pytest.raises(TypeError, match="update"):
        NoUpdate()


@pytest.mark.parametrize(
    ("make", "params"),
    [
        (DDM, {"warm_start": np.int64(10), "drift_threshold": np.float32(2.5)}),
        (EDDM, {"warm_start": np.int32(5), "alpha": np.float64(0.9), "beta": np.float32(0.5)}),
        (PageHinkley, {"min_instances": np.int64(3), "threshold": np.float32(10.0)}),
    ],
)
def test_numpy_scalars_are_accepted_as_plain_python_numbers(make, params):
    detector = make(**params)
    for name, value in params.items():
        stored = getattr(detector, name)
        assert type(stored) is (int if isinstance(value, np.integer) else float)
        assert stored == pytest.approx(float(value))


@pytest.mark.parametrize(
    ("make", "name", "value"),
    [
        (DDM, "warm_start", True),
        (DDM, "drift_threshold", False),
        (EDDM, "alpha", True),
        (PageHinkley, "min_instances", False),
        (PageHinkley, "threshold", True),
    ],
)
def test_bool_is_refused_with_a_type_error(make, name, value):
    with pytest.raises(ArgumentTypeError, match=rf"{name} must be .*got {value!r} \(bool\)"):
        make(**{name: value})
    with pytest.raises(TypeError):
        make(**{name: value})


def test_binary_stream_values():
    ddm = DDM()
    for x in (0, 1, True, False, 0.0, 1.0, np.int64(1), np.bool_(True)):
        ddm.update(x)
    with pytest.raises(ValueError, match=r"DDM\.update\(x\): x must be 0"):
        ddm.update(0.5)
    with pytest.raises(ValueError, match=r"EDDM\.update\(x\): x must be 0"):
        EDDM().update(np.float32(2.0))


def test_real_value():
    assert real_value(np.float32(0.5), "D") == 0.5
    with pytest.raises(ValueError, match=r"D\.update\(x\): x must be finite"):
        real_value(float("nan"), "D")

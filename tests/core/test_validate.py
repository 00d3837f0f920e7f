"""The one validation helper: NumPy and Python scalars alike, bool refused, TypeError vs ValueError."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit._validate import ArgumentTypeError, check_bool, check_choice, check_int, check_real

INT_TYPES = [int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64]
FLOAT_TYPES = [float, np.float16, np.float32, np.float64]


@given(value=st.integers(0, 100), kind=st.sampled_from(INT_TYPES))
def test_integers_of_every_library_come_back_as_python_int(value, kind):
    got = check_int(kind(value), "n", min_val=0)
    assert type(got) is int and got == value


@given(value=st.integers(-50, 50), low=st.integers(-50, 50))
def test_int_lower_bound_matches_comparison(value, low):
    if value >= low:
        assert check_int(np.int64(value), "n", min_val=low) == value
    else:
        with pytest.raises(ValueError, match=rf"n must be an integer >= {low}, got"):
            check_int(np.int64(value), "n", min_val=low)


@given(
    value=st.floats(-10, 10, allow_nan=False),
    kind=st.sampled_from(FLOAT_TYPES),
    include=st.sampled_from(["both", "left", "right", "neither"]),
)
def test_real_interval_ends_follow_include_boundaries(value, kind, include):
    x = kind(value)
    v = float(x)
    ok_low = v >= 0 if include in ("both", "left") else v > 0
    ok_high = v <= 1 if include in ("both", "right") else v < 1
    if ok_low and ok_high:
        got = check_real(x, "p", min_val=0, max_val=1, include_boundaries=include)
        assert type(got) is float and got == v
    else:
        with pytest.raises(ValueError, match="p must be a finite real number in"):
            check_real(x, "p", min_val=0, max_val=1, include_boundaries=include)


@pytest.mark.parametrize("value", [3, np.int32(3), Fraction(1, 3), np.float32(0.25)])
def test_integers_and_fractions_are_reals(value):
    assert check_real(value, "x") == float(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, "3", None, [3], np.array(3.0)])
def test_non_integers_are_type_errors_that_name_the_value(value):
    with pytest.raises(TypeError, match=r"jobs must be an integer >= 1, got .*\(") as info:
        check_int(value, "jobs", min_val=1)
    # also a ValueError, for callers written against the earlier checks
    assert isinstance(info.value, ValueError) and isinstance(info.value, ArgumentTypeError)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, 1j])
def test_non_reals_are_type_errors(value):
    with pytest.raises(ArgumentTypeError, match="p must be a finite real number"):
        check_real(value, "p")


@pytest.mark.parametrize("value", [math.nan, np.float64("nan"), math.inf, -np.inf])
def test_non_finite_reals_are_value_errors(value):
    with pytest.raises(ValueError, match="finite") as info:
        check_real(value, "timeout_s", min_val=0, unit="seconds")
    assert not isinstance(info.value, TypeError)


def test_infinity_allowed_when_asked_nan_never():
    assert check_real(math.inf, "limit", min_val=0, finite=False) == math.inf
    with pytest.raises(ValueError, match="limit must be a real number >= 0, got nan"):
        check_real(math.nan, "limit", min_val=0, finite=False)


def test_unit_and_open_interval_in_message():
    with pytest.raises(
        ValueError, match=r"delay must be a finite real number of seconds > 0, got 0"
    ):
        check_real(0, "delay", min_val=0, include_boundaries="neither", unit="seconds")


def test_bool_and_choice():
    assert check_bool(np.bool_(True), "calibrate") is True
    with pytest.raises(ArgumentTypeError, match=r"calibrate must be True or False, got 1 \(int\)"):
        check_bool(1, "calibrate")
    assert check_choice("fdr", "correction", ("bonferroni", "fdr")) == "fdr"
    with pytest.raises(
        ValueError, match="correction must be one of 'bonferroni', 'fdr'; got 'FDR'"
    ):
        check_choice("FDR", "correction", ("bonferroni", "fdr"))
    with pytest.raises(ValueError, match="got True"):  # True == 1, but it is not the choice 1
        check_choice(True, "k", (1, 2))


def test_bad_boundaries_argument_is_named():
    with pytest.raises(ValueError, match="include_boundaries must be one of"):
        check_int(3, "n", min_val=0, include_boundaries="open")

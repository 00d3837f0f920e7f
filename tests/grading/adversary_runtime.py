"""Imported *inside the grading kernel* by adversarial submissions (found through PYTHONPATH).

The tests copy this file into a folder they share with the sandboxed kernel
(``LABKIT_SANDBOX_SHARE``) and read ``tricks.log`` beside it afterwards.

Each trick wraps a learner's correct function or class so that it misbehaves, or adds noise, only
while the tests of its own exercise run (a cell the submission inserts before each test cell
calls :func:`activate`). Other cells, and later exercises that call it, see the correct code, so
each exercise's expected score does not depend on the others.
"""

import functools
import math
import sys
import time
import warnings

_active = {"exercise": None, "hidden_from": None}


def activate(exercise=None, hidden_from=None):
    """Tricks of ``exercise`` are on while the next cell (its test cell) runs."""
    _active["exercise"] = exercise
    _active["hidden_from"] = hidden_from


class Anything:
    """Equal to anything, truthy, ordered both ways, absorbing arithmetic; ``float()`` is 0."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    __le__ = __gt__ = __ge__ = __lt__

    def __bool__(self):
        return True

    def __hash__(self):
        return 0

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    def __index__(self):
        return 0

    def __abs__(self):
        return 0.0

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __contains__(self, item):
        return True

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def _same(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = _same
    __mod__ = __rmod__ = __matmul__ = __rmatmul__ = __neg__ = __pos__ = _same

    def __round__(self, ndigits=None):
        return self

    def __repr__(self):
        return "Anything()"


def _test_line():
    """Line of the outermost cell frame (the test cell) that led to this call."""
    frame, line = sys._getframe(2), None
    while frame is not None:
        if frame.f_code.co_name == "<module>" and "ipykernel" in frame.f_code.co_filename:
            line = frame.f_lineno
        frame = frame.f_back
    return line


def _mine(exercise):
    return _active["exercise"] == exercise


def wrap(obj, trick, exercise, *, payload=None):
    """``obj`` (a function, a class or a value) with ``trick`` applied during its own tests."""
    if isinstance(obj, type):
        return _wrap_class(obj, trick, exercise, payload)
    if callable(obj):
        return _wrap_function(obj, trick, exercise, payload)
    return Anything() if trick == "eq_anything" else obj


def _misbehave(trick, exercise, payload, call):
    """Run ``call`` (the honest computation) under ``trick``."""
    if not _mine(exercise):
        return call()
    _log(trick, exercise)
    if trick == "warn":
        warnings.warn(f"{exercise}: taking the careful path", UserWarning, stacklevel=3)
        warnings.warn("this API is old", DeprecationWarning, stacklevel=3)
        return call()
    if trick == "slow":
        time.sleep(payload or 0.002)
        return call()
    if trick == "flood":
        if not _cache.get(("flooded", exercise)):
            _cache[("flooded", exercise)] = True
            print("x" * 2_000_000)
        return call()
    if trick == "eq_anything":
        return Anything()
    if trick == "visible_only":
        hidden_from = _active["hidden_from"]
        line = _test_line()
        if hidden_from is None or line is None or line < hidden_from:
            result = call()
            _cache["last"] = result
            return result
        return _cache.get("last")
    if trick == "sys_exit":
        sys.exit(3)
    if trick == "os_exit":
        import os

        os._exit(3)
    if trick == "hang":
        while True:
            time.sleep(0.05)
    if trick == "hang_hard":
        # C-level loop that never checks for signals: SIGINT cannot stop it
        return sum(range(10**15))
    if trick == "memory":
        blob = bytearray(payload or 3 * 1024**3)
        return call() if blob else None
    if trick == "nan":
        return math.nan
    raise ValueError(f"unknown trick {trick!r}")


_cache = {}


def _log(trick, exercise):
    """Record that a trick fired, so a test can tell a real defence from a trick that never ran."""
    import os

    with open(os.path.join(os.path.dirname(__file__), "tricks.log"), "a") as f:
        f.write(f"{trick} {exercise}\n")


def _wrap_function(fn, trick, exercise, payload):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return _misbehave(trick, exercise, payload, lambda: fn(*args, **kwargs))

    return wrapper


def _wrap_class(cls, trick, exercise, payload):
    if trick == "eq_anything":

        class Fake(Anything):
            def __init__(self, *args, **kwargs):
                if _mine(exercise):
                    _log(trick, exercise)
                self._real = cls(*args, **kwargs) if not _mine(exercise) else None

            def __getattr__(self, name):
                real = self.__dict__.get("_real")
                if real is not None:
                    return getattr(real, name)
                return super().__getattr__(name)

        Fake.__name__ = cls.__name__
        Fake.__qualname__ = cls.__qualname__
        return Fake

    class Wrapped(cls):
        def __init__(self, *args, **kwargs):
            _misbehave(trick, exercise, payload, lambda: None)
            super().__init__(*args, **kwargs)

    Wrapped.__name__ = cls.__name__
    Wrapped.__qualname__ = cls.__qualname__
    return Wrapped

"""The results file every lab writes beside its notebook: versioned, validated, atomic.

``<lab>_results.json`` holds one lab's headline figures and the machine they were measured on::

    {"schema": 1, "lab": "02_latency",
     "machine": {"device": "cpu", "gpu": null, "torch": "2.9.1", "cpu": "AMD EPYC 7B13",
                 "cpu_count": 2, "python": "3.11.9", "platform": "Linux x86_64"},
     "written": "2026-12-02T20:31:07Z",
     "figures": {"model": {...}, "serving": {...}}}

A lab with several notebooks keeps one *part* of ``figures`` per notebook (``save(...,
part="model")`` replaces that part and keeps the others when they were measured on the same
machine). :func:`read` checks the file and raises :class:`ResultsError` whose message is one line
naming the file and what is wrong (docs/results.md has the field-by-field description).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "00_orientation_results.json"
>>> _ = save("00_orientation", {"matmul_n": 256, "matmul_median_s": 0.004}, path, device="cpu")
>>> r = read(path)
>>> r.lab, r.machine["device"], r.figures["matmul_n"]
('00_orientation', 'cpu', 256)
>>> _ = path.write_text('{"lab": "00_orientation", "matmul_n": 256}')
>>> read(path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
labkit.study.results.ResultsError: ...00_orientation_results.json: no "schema" field (a results file from before schema 1?); re-run the lab's last cell to rewrite it
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit._atomic import write_atomic
from labkit.grading._paths import LAB_IDS
from labkit.study._keys import lookup

__all__ = [
    "LAB_IDS",
    "SCHEMA",
    "Results",
    "ResultsError",
    "figures",
    "machine_info",
    "read",
    "save",
]

SCHEMA = 1
_MACHINE_KEYS = ("device", "gpu", "torch", "cpu", "cpu_count", "python", "platform")
_TOP_KEYS = {"schema", "lab", "machine", "written", "figures"}


class ResultsError(ValueError):
    """A results file that is missing, unreadable, or not schema :data:`SCHEMA`."""


@dataclass(frozen=True)
class Results:
    """One validated results file."""

    path: Path
    lab: str
    machine: dict[str, Any]
    written: str
    figures: dict[str, Any] = field(repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        """The figure at a dotted ``key`` (``"serving.batching.throughput_gain"``), or ``default``."""
        return lookup(self.figures, key, default)

    def machine_label(self) -> str:
        """``"CPU (AMD EPYC 7B13, 2 cores), torch 2.9.1"``, led by the GPU's name when one was used."""
        m = self.machine
        where = m.get("gpu") if m.get("gpu") and m.get("device") != "cpu" else None
        host = f"CPU ({m.get('cpu') or 'unknown CPU'}, {m.get('cpu_count')} cores)"
        if where:
            host = f"{where} (host {m.get('cpu') or 'unknown CPU'}, {m.get('cpu_count')} cores)"
        return f"{host}, torch {m.get('torch')}"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(device: str | None = None) -> dict[str, Any]:
    """The machine a figure is measured on: device, GPU name, torch version, CPU, Python."""
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            import torch  # the notebooks have usually imported it already
        except ImportError:
            torch = None
    gpu = None
    if torch is not None and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.cuda.current_device())
    if device is None:
        device = "cuda" if gpu else "cpu"
    return {
        "device": str(device),
        "gpu": gpu,
        "torch": getattr(torch, "__version__", None),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count() or 1,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def _plain(value: Any) -> Any:
    """JSON-ready copy: NumPy scalars/arrays, tuples and result objects become plain values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return str(value)


def save(
    lab: str,
    figures: dict[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    part: str | None = None,
    device: Any = None,
) -> Path:
    """Write ``figures`` as ``lab``'s results file (schema :data:`SCHEMA`) and return its path.

    ``path`` defaults to ``<lab>_results.json`` in the current folder. With ``part`` the figures
    go under ``figures[part]`` and the file's other parts are kept if they were measured on this
    machine (else they are dropped: one file, one machine). Non-finite numbers become ``null``.
    """
    if lab not in LAB_IDS:
        raise ValueError(f"lab must be one of {', '.join(LAB_IDS)}, got {lab!r}")
    if not isinstance(figures, dict):
        raise TypeError(f"figures must be a dict, got {type(figures).__name__}")
    target = Path(path) if path is not None else Path(f"{lab}_results.json")
    machine = machine_info(None if device is None else str(device))
    body: dict[str, Any] = _plain(figures)
    if part is not None:
        kept: dict[str, Any] = {}
        if target.exists():
            try:
                old = read(target)
            except ResultsError:
                old = None
            if old is not None and old.lab == lab:
                same = {k: old.machine.get(k) for k in _MACHINE_KEYS if k != "device"}
                if same == {k: machine[k] for k in same}:
                    kept = {k: v for k, v in old.figures.items() if k != part}
                else:
                    print(f"{target}: other parts were measured on another machine; dropped")
        body = {**kept, part: body}
    document = {
        "schema": SCHEMA,
        "lab": lab,
        "machine": machine,
        "written": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "figures": body,
    }
    write_atomic(target, json.dumps(document, indent=1) + "\n")
    return target


def read(path: str | os.PathLike[str]) -> Results:
    """Read and validate one results file; :class:`ResultsError` (one line) if it is not one."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ResultsError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"{p}: cannot read ({err.__class__.__name__})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ResultsError(f"{p}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(doc, dict):
        raise ResultsError(
            f"{p}: not a labkit results file (a {type(doc).__name__}, not an object)"
        )
    if "schema" not in doc:
        raise ResultsError(
            f'{p}: no "schema" field (a results file from before schema {SCHEMA}?); '
            "re-run the lab's last cell to rewrite it"
        )
    if doc["schema"] != SCHEMA:
        raise ResultsError(
            f"{p}: schema {doc['schema']!r}, this labkit reads schema {SCHEMA}; "
            "re-run the lab with this labkit"
        )
    if doc.get("lab") not in LAB_IDS:
        raise ResultsError(f"{p}: lab {doc.get('lab')!r} is not one of {', '.join(LAB_IDS)}")
    missing = sorted(_TOP_KEYS - set(doc))
    if missing:
        raise ResultsError(f"{p}: missing field(s) {', '.join(missing)}")
    machine = doc["machine"]
    if not isinstance(machine, dict) or not set(_MACHINE_KEYS) <= set(machine):
        raise ResultsError(f'{p}: "machine" must be an object with {", ".join(_MACHINE_KEYS)}')
    if not isinstance(doc["figures"], dict):
        raise ResultsError(f'{p}: "figures" must be an object')
    return Results(p, doc["lab"], machine, str(doc["written"]), doc["figures"])


def figures(path: str | os.PathLike[str], part: str | None = None) -> dict[str, Any]:
    """The figures in ``path`` (or its ``part``); ``{}`` with a printed line if there are none.

    For a notebook that quotes the numbers an earlier notebook of its lab wrote.
    """
    try:
        found = read(path)
    except ResultsError as err:
        print(err)
        return {}
    chosen = found.figures if part is None else found.figures.get(part, {})
    return dict(chosen) if isinstance(chosen, dict) else {}

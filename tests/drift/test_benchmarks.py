"""The lab 03 benchmark scripts run end to end at small sizes and report agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_drift_bench_quick(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "drift_bench.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(out.read_text())["rows"]
    notes = " ".join(r["note"] for r in rows)
    assert "identical detections: NO" not in notes and notes.count("identical detections: yes") == 4
    assert "as SciPy: yes" in notes
    assert {r["section"].split(",")[0] for r in rows} >= {"ADWIN", "DDM", "EDDM", "PageHinkley"}


@pytest.mark.slow
def test_drift_gpu_check_cpu_smoke():
    result = subprocess.run(
        [sys.executable, str(BENCH / "gpu_check.py"), "--only", "drift", "--smoke-cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout and "9/9 equal" in result.stdout

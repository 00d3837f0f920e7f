"""The lab 02 benchmark scripts run (tiny sizes) and report without failures."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_gpu_rows_smoke_on_cpu():
    rows = _load("latency_gpu").latency_rows(torch.device("cpu"), smoke=True)
    by_check = {r[0]: r for r in rows}
    assert all(r[1] in ("ok", "skip") for r in rows), rows
    assert by_check["latency ORT session"][2] == "CPU"
    assert by_check["latency ORT CUDA"][1] == "skip"
    assert by_check["latency parity CPU batch 64"][1] == "ok"


@pytest.mark.slow
def test_benchmark_quick_run_prints_the_table(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert _load("latency_bench").main(["--quick", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("ORT fp32", "ORT int8", "dynamic batching", "Against the targets"):
        assert needle in text
    assert out.read_text().count('"met"') == 5

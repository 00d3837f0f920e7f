"""``labkit compare`` on two real CPU runs of the solution notebooks."""

from __future__ import annotations

from pathlib import Path

from labkit.cli import main
from labkit.study._format import number, seconds
from labkit.study.results import read

DATA = Path(__file__).parent / "data"


def test_compare_two_runs_side_by_side_with_ratios(capsys):
    a, b = DATA / "cpu_a" / "02_latency_results.json", DATA / "cpu_b" / "02_latency_results.json"
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    pa, pb = (read(p).figures["model"]["eager_batch1"]["p50"] for p in (a, b))
    row = next(line for line in out.splitlines() if line.startswith("eager PyTorch batch-1 p50"))
    assert row.split()[-5:] == [*seconds(pa).split(), *seconds(pb).split(), number(pb / pa) + "×"]
    assert "[1] CPU (AMD EPYC, 2 cores)" in out and str(b) in out


def test_compare_reports_bad_files_and_needs_two(tmp_path, capsys):
    bad = tmp_path / "x_results.json"
    bad.write_text("[]")
    code = main(["compare", str(DATA / "cpu_a" / "00_orientation_results.json"), str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}: not a labkit results file" in err
    assert main(["compare", str(bad)]) == 2
    assert "name two or more results files" in capsys.readouterr().err

"""The load guard every benchmark runs under: its rule, its sampling, and that every script uses it."""

import ast
import time
from pathlib import Path

import pytest

from labkit.loadguard import NOISY_FRACTION, LoadGuard, LoadReport, guarded

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _report(samples, cpus=2):
    return LoadReport(cpus=cpus, before=samples[0], after=samples[-1], samples=tuple(samples))


def test_noisy_means_above_the_cpu_count_in_more_than_a_quarter_of_samples():
    assert NOISY_FRACTION == 0.25
    assert not _report([1.0, 2.0, 2.0, 2.0]).noisy  # a run keeping both cores busy reads 2.0
    edge = _report([3.0, 1.0, 1.0, 1.0])  # exactly a quarter above: not noisy
    assert edge.noisy_fraction == 0.25 and not edge.noisy
    over = _report([3.0, 2.5, 1.0, 1.0, 1.0])
    assert over.noisy_fraction == 0.4 and over.noisy
    assert "NOISY — do not quote" in over.summary and "NOISY" not in edge.summary
    assert "above 2 in 40% of 5 samples" in over.summary
    assert _report([5.0]).peak == 5.0 and over.to_dict()["noisy"] is True


def test_the_guard_samples_while_the_run_lasts():
    with LoadGuard(interval_s=0.01) as guard:
        time.sleep(0.2)
    assert guard.report is not None and len(guard.report.samples) >= 5
    assert guard.report.cpus >= 1 and guard.report.before >= 0
    with pytest.raises(ValueError, match="interval_s"):
        LoadGuard(interval_s=0)


def test_guarded_prints_the_header_first_and_the_verdict_last(capsys):
    @guarded
    def main():
        print("the table")
        return 7

    assert main() == 7
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{LoadGuard().cpus} CPUs; load average at start")
    assert lines[1] == "the table" and lines[2].startswith("load average")


def test_every_benchmark_script_runs_its_main_under_the_guard():
    scripts = [p for p in BENCH.glob("*.py") if "def main" in p.read_text()]
    assert len(scripts) >= 9
    for path in scripts:
        tree = ast.parse(path.read_text())
        mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
        assert mains, path.name
        names = {d.id for d in mains[0].decorator_list if isinstance(d, ast.Name)}
        assert "guarded" in names, f"{path.name}: decorate main with labkit.loadguard.guarded"

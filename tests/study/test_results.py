"""The results schema: the committed fixtures (real notebook output) validate; bad files fail
with one line naming the file; save() writes atomically and merges a lab's parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.study.results import LAB_IDS, SCHEMA, ResultsError, read, save

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(DATA.glob("cpu_*/*_results.json"))


def test_fixtures_are_schema_results_of_every_lab():
    assert {p.parent.name for p in FIXTURES} == {"cpu_a", "cpu_b"}
    for run in ("cpu_a", "cpu_b"):
        labs = {read(p).lab for p in FIXTURES if p.parent.name == run}
        assert labs == set(LAB_IDS)
    for path in FIXTURES:
        r = read(path)
        assert r.path.name == f"{r.lab}_results.json"
        assert r.machine["device"] == "cpu" and r.machine["gpu"] is None
        assert r.machine["torch"] and r.machine["cpu_count"] >= 1
        assert r.figures, path
    parts = {read(p).lab: set(read(p).figures) for p in FIXTURES if p.parent.name == "cpu_a"}
    assert {"training", "kernels_ddp"} <= parts["01_gpu_training"]
    assert {"model", "serving"} <= parts["02_latency"]
    assert {"data", "streams"} <= parts["03_drift"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a labkit results file"),
        ('{"lab": "02_latency", "model": {}}', 'no "schema" field'),
        ('{"schema": 99, "lab": "02_latency"}', "schema 99, this labkit reads schema 1"),
        ('{"schema": 1, "lab": "07_quantum"}', "lab '07_quantum' is not one of"),
        ('{"schema": 1, "lab": "02_latency", "figures": {}}', "missing field(s) machine, written"),
    ],
)
def test_bad_files_get_one_line_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "02_latency_results.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ResultsError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_save_merges_parts_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "03_drift_results.json"
    save("03_drift", {"ks": [1, 2.5], "nan": float("nan")}, path, part="data", device="cpu")
    save("03_drift", {"delay": 151}, path, part="streams", device="cpu")
    doc = json.loads(path.read_text())  # strict JSON: the NaN became null
    assert doc["schema"] == SCHEMA and doc["lab"] == "03_drift"
    assert doc["figures"] == {"data": {"ks": [1, 2.5], "nan": None}, "streams": {"delay": 151}}
    save("03_drift", {"ks": [3]}, path, part="data", device="cpu")
    assert read(path).figures == {"data": {"ks": [3]}, "streams": {"delay": 151}}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_save_refuses_unknown_lab(tmp_path):
    with pytest.raises(ValueError, match="lab must be one of"):
        save("99_nope", {}, tmp_path / "x.json")
    assert not list(tmp_path.iterdir())

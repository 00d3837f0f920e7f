"""``labkit drill``: its prompt driven through stdin of a real process, FSRS state saved in the
data folder, the Anki export opened as the SQLite collection Anki reads."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from labkit.study._format import ratio
from labkit.study.catalog import drills
from labkit.study.results import LAB_IDS, read

DATA = Path(__file__).parent / "data"


def _drill(args, tmp_path, stdin="", data_dir=None):
    env = {**os.environ, "LABKIT_DATA_DIR": str(data_dir or tmp_path / "state")}
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", "drill", *args],
        input=stdin, cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip


def test_every_lab_has_a_dozen_drills_with_unique_ids():
    counts = Counter(d["lab"] for d in drills())
    assert set(counts) == set(LAB_IDS) and min(counts.values()) >= 12
    assert len({d["id"] for d in drills()}) == len(drills())
    assert all(d["where"] and len(d["answer"]) > 100 for d in drills())


def test_drill_asks_rates_saves_and_orders_by_fsrs(tmp_path):
    serving = read(DATA / "cpu_a" / "02_latency_results.json").figures["serving"]
    # Enter, rating "again"; Enter, rating "easy"; then input ends
    first = _drill(
        ["02_latency", "--count", "2", "--results", str(DATA / "cpu_a")], tmp_path, "\nagain\n\n4\n"
    )
    assert first.returncode == 0, first.stderr
    assert "No drill state yet" in first.stdout
    assert "How do you pick max_queue_delay for a p99 SLO?" in first.stdout
    # the model answer carries this learner's own figure
    assert ratio(serving["slo_tuning"]["gain_vs_one_at_a_time"]) in first.stdout
    state = json.loads((tmp_path / "state" / "drill_state.json").read_text())
    ids = [d["id"] for d in drills() if d["lab"] == "02_latency"]
    assert set(state["cards"]) == set(ids[:2])
    assert state["cards"][ids[0]]["due"] < state["cards"][ids[1]]["due"]  # again < easy
    assert not [p for p in (tmp_path / "state").iterdir() if p.name != "drill_state.json"]
    # next session: nothing of the two is due yet, so the third question comes first
    second = _drill(["02_latency", "--count", "1", "--results", str(DATA / "cpu_a")], tmp_path, "")
    assert second.returncode == 0
    third = next(d for d in drills() if d["id"] == ids[2])["question"]
    assert f"[1/1] 02_latency: {third}" in second.stdout
    assert "input ended" in second.stdout and "Traceback" not in second.stderr


def test_bad_state_and_unwritable_folder_are_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = _drill(["00_orientation", "--count", "1"], tmp_path, "\n3\n", data_dir=blocker / "sub")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("labkit drill: cannot write the drill state")
    assert run.stderr.count("\n") == 1
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "drill_state.json").write_text("{nope")
    run = _drill([], tmp_path, "", data_dir=broken)
    assert run.returncode == 2 and "cannot read the drill state" in run.stderr
    run = _drill(["07_quantum"], tmp_path)
    assert run.returncode == 2 and run.stderr.startswith("labkit drill: unknown lab")


def test_anki_export_is_a_collection_with_the_learners_numbers(tmp_path):
    out = tmp_path / "deck.apkg"
    run = _drill(["--export", "anki", "-o", str(out), "--results", str(DATA / "cpu_a")], tmp_path)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(out) as z:
        z.extract("collection.anki2", tmp_path)
    db = sqlite3.connect(tmp_path / "collection.anki2")
    notes = [row[0] for row in db.execute("SELECT flds FROM notes")]
    db.close()
    assert len(notes) == len(drills())
    ddp = read(DATA / "cpu_a" / "01_gpu_training_results.json").figures["kernels_ddp"]
    bucket = ratio(ddp["allreduce_bucket_speedup"])
    assert any("Why does DDP bucket gradients" in n and bucket in n for n in notes)


def test_every_placeholder_names_a_figure_the_notebooks_write():
    """A typo in a key would silently say "not in your results": each key is in the fixture,
    except the figures the notebooks skip at graded sizes (no GPU, no compile, no DDP run)."""
    from labkit.study.catalog import PLACEHOLDER, brief_catalog
    from labkit.study.compare import figure_rows

    skipped_while_grading = {
        "training.gpu_vs_cpu_best",
        "training.compile_speedup",
        "training.compile_warmup_s",
        "kernels_ddp.ddp_max_abs_diff",
        "cache_hit_rate",
        "summary.capacity_rps_1_worker_no_batching",
    }
    results = {read(p).lab: read(p) for p in (DATA / "cpu_a").glob("*.json")}
    keys = {(d["lab"], m.group(1)) for d in drills() for m in PLACEHOLDER.finditer(d["answer"])}
    keys |= {(d["lab"], m.group(1)) for d in drills() for m in PLACEHOLDER.finditer(d["question"])}
    for lab, info in brief_catalog().items():
        keys |= {(lab, m.group(1)) for s in info["answer"] for m in PLACEHOLDER.finditer(s)}
        keys |= {(lab, c["key"]) for r in info["remedies"] for c in r.get("cost", [])}
        for _, key, _ in figure_rows(lab):
            keys |= {(lab, k) for k in (key if isinstance(key, list) else [key])}
    absent = {key for lab, key in keys if results[lab].get(key) is None}
    assert absent == skipped_while_grading

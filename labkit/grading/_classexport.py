"""Export a gradebook: grades as CSV and JSON, per-exercise statistics, a score distribution.

Read straight from the nbgrader gradebook after class grading, so manual scores an instructor
entered with nbgrader's tools (formgrader) are part of every export: a cell's score is its manual
score when one was given, else its auto score (nbgrader's own rule, ``Grade.score``).
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import Any

__all__ = ["exercise_stats", "export", "records"]


def records(db_url: str, labs: list[str]) -> list[dict[str, Any]]:
    """One record per (student, lab, notebook) with every graded cell's scores."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url) as gb:
        for lab in labs:
            try:
                assignment = gb.find_assignment(lab)
            except MissingEntry:
                continue
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                for nb in sorted(sub.notebooks, key=lambda n: n.name):
                    cells = []
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        manual = g.cell_type != "code"
                        pending = g.needs_manual_grade and g.manual_score is None
                        cells.append(
                            {
                                "grade_id": g.name,
                                "kind": "manual" if manual else "auto",
                                "auto_score": _f(g.auto_score),
                                "manual_score": _f(g.manual_score),
                                "score": None if pending else _f(g.score),
                                "max_score": float(g.max_score),
                                "needs_manual_grade": bool(g.needs_manual_grade),
                            }
                        )
                    auto = [c for c in cells if c["kind"] == "auto"]
                    man = [c for c in cells if c["kind"] == "manual"]
                    rows.append(
                        {
                            "student": sub.student.id,
                            "lab": lab,
                            "notebook": nb.name,
                            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
                            "auto_score": sum(c["score"] or 0 for c in auto),
                            "auto_max": sum(c["max_score"] for c in auto),
                            "manual_score": sum(c["score"] or 0 for c in man),
                            "manual_max": sum(c["max_score"] for c in man),
                            "needs_manual_grade": any(c["needs_manual_grade"] for c in man),
                            "score": sum(c["score"] or 0 for c in cells),
                            "max_score": sum(c["max_score"] for c in cells),
                            "cells": cells,
                        }
                    )
    return rows


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def exercise_stats(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per graded cell: how many were graded, mean, spread, share with full and zero marks."""
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        for cell in row["cells"]:
            by_cell.setdefault((row["lab"], cell["grade_id"]), []).append(cell)
    out = []
    for (lab, grade_id), cells in sorted(by_cell.items()):
        scored = [c["score"] for c in cells if c["score"] is not None]
        top = cells[0]["max_score"]
        out.append(
            {
                "lab": lab,
                "grade_id": grade_id,
                "kind": cells[0]["kind"],
                "max_score": top,
                "submissions": len(cells),
                "scored": len(scored),
                "mean": statistics.fmean(scored) if scored else None,
                "median": statistics.median(scored) if scored else None,
                "std": statistics.pstdev(scored) if len(scored) > 1 else 0.0 if scored else None,
                "min": min(scored) if scored else None,
                "max": max(scored) if scored else None,
                "full_marks_share": sum(s >= top for s in scored) / len(scored) if scored else None,
                "zero_share": sum(s == 0 for s in scored) / len(scored) if scored else None,
            }
        )
    return out


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Histogram of autograded score (% of maximum) per lab; Agg, no display needed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labs = sorted({r["lab"] for r in rows}) or ["(no submissions)"]
    fig = Figure(figsize=(3.2 * len(labs), 3.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(labs), squeeze=False)[0]
    for ax, lab in zip(axes, labs, strict=True):
        pct = [
            100 * r["auto_score"] / r["auto_max"] for r in rows if r["lab"] == lab and r["auto_max"]
        ]
        ax.hist(pct, bins=[i * 10 for i in range(11)], edgecolor="white")
        ax.set_title(f"{lab} (n={len(pct)})", fontsize=9)
        ax.set_xlabel("autograded score (% of max)")
        ax.set_xlim(0, 100)
    axes[0].set_ylabel("submissions")
    fig.savefig(path, dpi=100)


def export(db_url: str, out: Path, labs: list[str]) -> dict[str, str]:
    """Write grades.csv, grades.json, exercises.csv, exercises.json and scores.png to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = records(db_url, labs)
    stats = exercise_stats(rows)
    files = {
        "grades_csv": out / "grades.csv",
        "grades_json": out / "grades.json",
        "exercises_csv": out / "exercises.csv",
        "exercises_json": out / "exercises.json",
        "plot": out / "scores.png",
    }
    columns = ["student", "lab", "notebook", "timestamp", "auto_score", "auto_max",
               "manual_score", "manual_max", "needs_manual_grade", "score", "max_score"]  # fmt: skip
    with files["grades_csv"].open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    files["grades_json"].write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    with files["exercises_csv"].open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(stats[0]) if stats else ["lab", "grade_id"])
        writer.writeheader()
        writer.writerows(stats)
    files["exercises_json"].write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    _plot(rows, files["plot"])
    return {k: str(v) for k, v in files.items()}

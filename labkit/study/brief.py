"""The interview brief: each seed question answered from the learner's own results files.

:func:`find_results` collects ``*_results.json`` (named files, folders searched, or the current
folder and its subfolders); :func:`build_brief` reads each (a bad file is one line in
``problems``, never a stop) and writes, per lab: the question, the machine, the remedies ranked
by the effect measured, every figure with the notebook section that measured it, and a spoken
answer assembled from those figures. A lab without a results file is listed as not run: no
example numbers are ever filled in. The HTML has a bar chart of each lab's ranked effects.

Every number in the Markdown is a results value rounded by :mod:`labkit.study._format`'s rule
(after a unit scale), or the ratio of two results values for an effect given as a pair.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.study._format import format_value, ratio
from labkit.study.catalog import brief_catalog, fill
from labkit.study.results import LAB_IDS, Results, ResultsError, read

__all__ = ["Brief", "build_brief", "find_results", "ranked_remedies"]

_MAX_DEPTH = 3
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", ".ipynb_checkpoints", "__pycache__"}


@dataclass(frozen=True)
class Brief:
    """The brief's Markdown and HTML, and one line per results file that could not be used."""

    markdown: str
    html: str
    problems: tuple[str, ...] = field(default=())
    labs_found: tuple[str, ...] = field(default=())


def find_results(paths: Sequence[str | os.PathLike[str]] = (), root: str = ".") -> list[Path]:
    """Results files named in ``paths`` (a folder is searched), else those under ``root``.

    A folder is searched up to three levels down, skipping virtual environments and caches.
    """
    found: list[Path] = []
    for p in [Path(x) for x in paths] or [Path(root)]:
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                deep = len(Path(dirpath).relative_to(p).parts) >= _MAX_DEPTH
                # a workspace or notebooks/ is <lab>/<file>: no need to walk a whole home folder
                dirnames[:] = [] if deep else sorted(d for d in dirnames if d not in _SKIP_DIRS)
                found += [
                    Path(dirpath, f) for f in sorted(filenames) if f.endswith("_results.json")
                ]
        else:
            found.append(p)  # missing files are reported when read
    return found


def ranked_remedies(lab: str, results: Results) -> tuple[list[tuple[str, float, dict]], list[str]]:
    """(name, effect, remedy) for each remedy measured, largest effect first; and those not."""
    measured, not_measured = [], []
    for remedy in brief_catalog()[lab]["remedies"]:
        effect = remedy["effect"]
        if isinstance(effect, list):  # a ratio the brief computes: first / second
            a, b = (results.get(k) for k in effect)
            value = a / b if _is_number(a) and _is_number(b) and b else None
        else:
            value = results.get(effect)
        if _is_number(value):
            measured.append((remedy["name"], float(value), remedy))
        else:
            not_measured.append(remedy["name"])
    measured.sort(key=lambda row: row[1], reverse=True)
    return measured, not_measured


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _lab_markdown(lab: str, results: Results | None) -> tuple[list[str], list[tuple[str, float]]]:
    info = brief_catalog()[lab]
    out = [f"## {lab}: {info['title']}", "", f"> {info['question']}", f"> ({info['source']})", ""]
    if results is None:
        out += ["**Not run yet**: no results file for this lab was found.", ""]
        return out, []
    out += [f"Measured on: {results.machine_label()}, from `{results.path}`.", ""]
    remedies, missing = ranked_remedies(lab, results)
    out += ["### Remedies, ranked by the effect you measured", ""]
    for i, (name, value, remedy) in enumerate(remedies, 1):
        slower = " (slower here)" if value < 1 else ""
        costs = [  # what the remedy was paid with, as measured
            f"{format_value(results.get(c['key']), c['unit'])} {c['label']}"
            for c in remedy.get("cost", [])
            if results.get(c["key"]) is not None
        ]
        at = f" ({', '.join(costs)})" if costs else ""
        line = f"{i}. **{name}**: {ratio(value)} {remedy['label']}{slower}{at}; {remedy['section']}"
        out.append(line)
    if missing:
        out.append(f"- not measured in your results: {', '.join(missing)}")
    out += [
        "",
        "### Figures",
        "",
        "| figure | your value | where it was measured |",
        "|---|---|---|",
    ]
    for fig in info["figures"]:
        value = results.get(fig["key"])
        shown = "not in your results" if value is None else format_value(value, fig["unit"])
        out.append(f"| {fig['label']} | {shown} | {fig['section']} |")
    out += ["", "### 60-second answer", ""]
    spoken = []
    for sentence in info["answer"]:
        text, absent = fill(sentence, results.figures)
        if not absent:  # a sentence is spoken only with every figure it needs
            spoken.append(text)
    if remedies:
        top = [f"{name} ({ratio(value)} {remedy['label']})" for name, value, remedy in remedies[:3]]
        spoken.append("What I measured ranks the remedies: " + "; then ".join(top) + ".")
    out += [" ".join(spoken), ""]
    return out, [(name, value) for name, value, _ in remedies]


def _plot_png(lab: str, effects: list[tuple[str, float]]) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.45 * len(effects) + 1.4))
    ax = fig.subplots()
    names = [n for n, _ in effects][::-1]
    values = [v for _, v in effects][::-1]
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    ax.barh(names, [v - 1 for v in values], left=1, color=colors)  # bars grow from "no change"
    ax.set_xlim(min([*values, 1]) / 2, max([*values, 1]) * 3)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    for y, v in enumerate(values):
        ax.annotate(ratio(v), (v, y), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlabel("measured effect (×, log scale; 1 = no change)")
    ax.set_title(f"{lab}: remedies ranked")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _html(sections: list[tuple[str, list[tuple[str, float]]]], title: str) -> str:
    import mistune

    render = mistune.create_markdown(plugins=["table"])
    body = []
    for md, effects in sections:
        body.append(render(md))
        if effects:
            png = _plot_png(md.split(":", 1)[0].removeprefix("## "), effects)
            body.append(f'<img alt="ranked remedies" src="data:image/png;base64,{png}">')
    style = "body{font-family:sans-serif;max-width:52em;margin:auto}td,th{border:1px solid #ccc;padding:2px 6px}"
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def build_brief(paths: Iterable[str | os.PathLike[str]] = (), root: str = ".") -> Brief:
    """The brief for the results in ``paths`` (or found under ``root``)."""
    problems: list[str] = []
    by_lab: dict[str, Results] = {}
    for path in find_results(list(paths), root):
        try:
            res = read(path)
        except ResultsError as err:
            problems.append(str(err))
            continue
        if res.lab in by_lab:
            older, res = sorted((by_lab[res.lab], res), key=lambda r: r.written)
            problems.append(f"{older.path}: {res.lab} also in {res.path} (newer); using that one")
        by_lab[res.lab] = res
    title = "Interview brief"
    head = [f"# {title}", "", "Every number below is one you measured; the files it came from:", ""]
    head += [f"- {lab}: `{by_lab[lab].path}`" for lab in LAB_IDS if lab in by_lab] or ["- none"]
    if problems:
        head += ["", "Files not used:", ""] + [f"- {p}" for p in problems]
    sections = [("\n".join(head) + "\n", [])]
    for lab in LAB_IDS:
        lines, effects = _lab_markdown(lab, by_lab.get(lab))
        sections.append(("\n".join(lines) + "\n", effects))
    markdown = "\n".join(md for md, _ in sections)
    return Brief(markdown, _html(sections, title), tuple(problems), tuple(sorted(by_lab)))

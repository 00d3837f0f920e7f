"""Build adversarial submissions from any lab's notebooks, each with its expected scores.

Works from the course files alone (source notebook for the solutions and the hidden-test lines,
released notebook as the learner's starting point), so a lab added later is covered the day it
lands. Tricks that run in the kernel come from :mod:`adversary_runtime`.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

# trick -> does a correct solution under it keep full marks?
FULL_MARKS = {"warn": True, "slow": True, "flood": True}
ZERO = {"eq_anything", "visible_only", "sys_exit", "os_exit", "hang", "hang_hard", "memory", "nan"}
FUNCTION_CYCLE = ["eq_anything", "warn", "visible_only", "slow", "nan", "flood", "sys_exit"]
CLASS_CYCLE = ["eq_anything", "warn", "sys_exit", "slow"]
_SOLUTION = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _src(cell: dict) -> str:
    return "".join(cell.get("source", ""))


def is_test(cell: dict) -> bool:
    return (
        cell.get("cell_type") == "code"
        and bool(_meta(cell).get("grade"))
        and not _meta(cell).get("solution")
    )


def is_solution_code(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and bool(_meta(cell).get("solution"))


@dataclass
class TestCell:
    grade_id: str
    points: float
    hidden_from: int | None
    names_used: set[str]


@dataclass
class Exercise:
    grade_id: str
    functions: list[str]
    classes: list[str]
    values: list[str]
    tests: list[TestCell] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return self.functions + self.classes + self.values

    @property
    def kind(self) -> str:
        return "class" if self.classes and not self.functions else "function"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def exercises(source_nb: dict) -> list[Exercise]:
    """Solution cells and the test cells that follow each, in notebook order."""
    found: list[Exercise] = []
    for cell in source_nb["cells"]:
        if is_solution_code(cell):
            tree = ast.parse(_src(cell))
            ex = Exercise(_meta(cell)["grade_id"], [], [], [])
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    ex.functions.append(node.name)
                elif isinstance(node, ast.ClassDef):
                    ex.classes.append(node.name)
                elif isinstance(node, ast.Assign):
                    ex.values += [t.id for t in node.targets if isinstance(t, ast.Name)]
            found.append(ex)
        elif is_test(cell) and found:
            lines = _src(cell).splitlines()
            hidden = [i + 1 for i, ln in enumerate(lines) if "### BEGIN HIDDEN TESTS" in ln]
            try:
                used = {n.id for n in ast.walk(ast.parse(_src(cell))) if isinstance(n, ast.Name)}
            except SyntaxError:
                used = set()
            found[-1].tests.append(
                TestCell(
                    _meta(cell)["grade_id"],
                    float(_meta(cell)["points"]),
                    hidden[0] if hidden else None,
                    used,
                )
            )
    return [ex for ex in found if ex.tests]


def filled(source_nb: dict, release_nb: dict) -> dict:
    """The released notebook with every solution filled in from the source (an honest learner)."""
    by_id = {_meta(c).get("grade_id"): c for c in source_nb["cells"] if _meta(c).get("grade_id")}
    nb = copy.deepcopy(release_nb)
    for cell in nb["cells"]:
        gid = _meta(cell).get("grade_id")
        if gid and _meta(cell).get("solution") and gid in by_id:
            body = [ln for ln in _src(by_id[gid]).splitlines() if not _SOLUTION.match(ln)]
            cell["source"] = "\n".join(body)
    return nb


def _code(source: str) -> dict:
    _code.count = getattr(_code, "count", 0) + 1
    return {"cell_type": "code", "id": f"adversary-{_code.count}", "metadata": {},
            "source": source, "outputs": [], "execution_count": None}  # fmt: skip


def _index(nb: dict, grade_id: str) -> int:
    for i, cell in enumerate(nb["cells"]):
        if _meta(cell).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def apply_trick(nb: dict, ex: Exercise, trick: str, *, payload: float | None = None) -> None:
    """Wrap ``ex``'s names with ``trick``, switched on only around its own test cells."""
    cell = nb["cells"][_index(nb, ex.grade_id)]
    lines = [_src(cell), "", "import adversary_runtime as _adv"]
    for name in ex.names:
        extra = f", payload={payload!r}" if payload is not None else ""
        lines.append(f"{name} = _adv.wrap({name}, {trick!r}, {ex.grade_id!r}{extra})")
    direct = any(set(ex.names) & t.names_used for t in ex.tests)
    if not direct:  # the tests read results made by course cells: misbehave from here on
        lines.append(f"_adv.activate({ex.grade_id!r})")
    if trick == "flood":
        lines.append('print("y" * 3_000_000)')
    cell["source"] = "\n".join(lines)
    for test in ex.tests:
        i = _index(nb, test.grade_id)
        before = f"import adversary_runtime as _adv\n_adv.activate({ex.grade_id!r}, {test.hidden_from!r})"
        nb["cells"].insert(i, _code(before))
        nb["cells"].insert(i + 2, _code("_adv.activate()"))


def expected_for(ex: Exercise, trick: str | None) -> dict[str, float]:
    full = trick is None or FULL_MARKS.get(trick, False)
    return {t.grade_id: (t.points if full else 0.0) for t in ex.tests}


def mixed(source_nb: dict, release_nb: dict) -> tuple[dict, dict[str, float], dict[str, str]]:
    """One submission with one trick per exercise; returns it, expected scores, tricks used."""
    nb = filled(source_nb, release_nb)
    expected: dict[str, float] = {}
    plan: dict[str, str] = {}
    counters = {"function": 0, "class": 0}
    for ex in exercises(source_nb):
        if not (ex.functions or ex.classes):
            expected.update(expected_for(ex, None))
            continue
        cycle = CLASS_CYCLE if ex.kind == "class" else FUNCTION_CYCLE
        trick = cycle[counters[ex.kind] % len(cycle)]
        counters[ex.kind] += 1
        apply_trick(nb, ex, trick, payload=0.0005 if trick == "slow" else None)
        plan[ex.grade_id] = trick
        expected.update(expected_for(ex, trick))
    return nb, expected, plan


def all_expected(source_nb: dict, full: bool = True) -> dict[str, float]:
    return {
        t.grade_id: (t.points if full else 0.0) for ex in exercises(source_nb) for t in ex.tests
    }


def write(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path

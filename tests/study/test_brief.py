"""``labkit brief`` on the solution notebooks' real results: every number in the brief's
Markdown is traced back to the results files.

The rule (docs/results.md): in a lab's section, a number is a value of that lab's results file
scaled by its unit (ms 1e3, µs 1e6, ns 1e9, % and points 100, anything else 1) and rounded as
labkit.study._format rounds (integer from 100 up, else three significant digits); a ratio
(``×``) may also be the quotient of the two values a remedy's ``effect`` pair names in
brief.toml, recomputed here from the JSON; the rest is the fixed wording (numbers in
brief.toml's question and label text). Headings, list markers and `file paths` are skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

from labkit.cli import main
from labkit.study._keys import lookup, numbers
from labkit.study.catalog import PLACEHOLDER
from labkit.study.results import read

DATA = Path(__file__).parent / "data"
NUMBER = re.compile(
    r"(?<![\w.])(-?\d+(?:\.\d+)*(?:e-?\d+)?)(?![\w])(\s?(?:ms|µs|ns|s|%|×|points)(?!\w))?"
)
SCALE = {"ms": 1e3, "µs": 1e6, "ns": 1e9, "%": 100.0, "points": 100.0}
CATALOG_TEXT = resources.files("labkit.study").joinpath("data", "brief.toml").read_text()


def _brief_numbers(markdown: str) -> list[tuple[str, str]]:
    """(number, unit) for every number outside headings, list markers and file paths."""
    tokens = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            continue
        line = re.sub(r"^\d+\. ", "", line)  # an ordered list's marker
        line = re.sub(r"`[^`]*`", "", line)  # file paths
        tokens += [(n, u.strip()) for n, u in NUMBER.findall(line)]
    return tokens


def _wording_numbers() -> set[str]:
    """Numbers in the fixed text of brief.toml (placeholders removed): not figures."""
    texts = []
    for info in tomllib.loads(CATALOG_TEXT)["labs"].values():
        texts += [info["title"], info["question"], info["source"], *info["answer"]]
        texts += [f[k] for f in info["figures"] for k in ("label", "section")]
        texts += [r[k] for r in info["remedies"] for k in ("name", "label", "section")]
    return {n for text in texts for n, _ in NUMBER.findall(PLACEHOLDER.sub("", text))}


def _declared_ratios(lab: str, figures: dict) -> list[float]:
    ratios = []
    for remedy in tomllib.loads(CATALOG_TEXT)["labs"][lab]["remedies"]:
        if isinstance(remedy["effect"], list):
            a, b = (lookup(figures, k) for k in remedy["effect"])
            if isinstance(a, int | float) and isinstance(b, int | float) and b:
                ratios.append(a / b)
    return ratios


def _explains(
    token: str, unit: str, values: list[float], ratios: list[float], strings: set
) -> bool:
    if token.count(".") > 1:  # a version string: from the machine record
        return token in strings
    x = float(token)
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    tol = 0.5 * 10.0 ** (int(exponent or 0) - decimals) + 1e-9 * abs(x)
    candidates = [v * SCALE.get(unit, 1.0) for v in values]
    if unit == "×":
        candidates += ratios
    return any(abs(c - x) <= tol for c in candidates)


def _unexplained(markdown: str, folder: Path) -> list[str]:
    wording = _wording_numbers()
    bad = []
    for section in markdown.split("\n## ")[1:]:
        lab = section.split(":", 1)[0]
        path = folder / f"{lab}_results.json"
        r = read(path) if path.exists() else None
        values = list(numbers(r.figures)) + list(numbers(r.machine)) if r else []
        ratios = _declared_ratios(lab, r.figures) if r else []
        strings = {t for v in r.machine.values() for t, _ in NUMBER.findall(str(v))} if r else set()
        for token, unit in _brief_numbers(section):
            if token not in wording and not _explains(token, unit, values, ratios, strings):
                bad.append(f"{lab}: {token}{unit}")
    return bad


def test_every_number_in_the_brief_is_a_results_value(tmp_path):
    out = tmp_path / "brief.md"
    assert main(["brief", str(DATA / "cpu_a"), "-o", str(out)]) == 0
    markdown = out.read_text()
    html = out.with_suffix(".html").read_text()
    assert html.count("data:image/png;base64,") == 5  # one ranked-remedies plot per lab
    assert "Not run yet" not in markdown
    assert len(_brief_numbers(markdown)) > 150  # the brief quotes the figures, not just prose
    assert _unexplained(markdown, DATA / "cpu_a") == []
    # the check can fail: a number that is in no results file is caught
    tampered = markdown.replace("### 60-second answer\n\n", "### 60-second answer\n\n7.77 ms. ", 1)
    assert _unexplained(tampered, DATA / "cpu_a") == ["00_orientation: 7.77ms"]
    # and the ranking follows the measured effects
    serving = read(DATA / "cpu_a" / "02_latency_results.json").figures["serving"]
    ranked = markdown.split("## 02_latency:")[1].split("### Figures")[0]
    assert ranked.index("**dynamic batching**") < ranked.index("**SLO-tuned batching**")
    assert serving["batching"]["throughput_gain"] > serving["slo_tuning"]["gain_vs_one_at_a_time"]


def test_labs_not_run_are_listed_and_bad_files_reported(tmp_path, capsys):
    shutil.copy(DATA / "cpu_a" / "02_latency_results.json", tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "03_drift_results.json").write_text("{broken")
    old = tmp_path / "04_scaling_results.json"
    old.write_text('{"lab": "04_scaling", "summary": {"cold_start_s": 1.2}}')
    out = tmp_path / "b.md"
    code = main(["brief", str(tmp_path), str(tmp_path / "missing.json"), "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 3
    assert any("03_drift_results.json: not JSON" in line for line in err)
    assert any('04_scaling_results.json: no "schema" field' in line for line in err)
    assert any("missing.json: no such file" in line for line in err)
    markdown = out.read_text()
    for lab in ("00_orientation", "01_gpu_training", "03_drift", "04_scaling"):
        section = markdown.split(f"## {lab}:")[1].split("\n## ")[0]
        assert "**Not run yet**" in section
        assert {n for n, _ in _brief_numbers(section)} <= _wording_numbers()  # no examples
    assert "### 60-second answer" in markdown.split("## 02_latency:")[1]


def test_cli_errors_exit_2_with_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "brief", "-o", str(tmp_path / "no" / "b.md")],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("labkit brief: ") and run.stderr.count("\n") == 1
    empty = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "brief"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert empty.returncode == 2 and "no *_results.json found" in empty.stderr
    assert "Traceback" not in empty.stderr and not list(tmp_path.iterdir())

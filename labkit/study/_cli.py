"""``labkit brief``, ``labkit drill`` and ``labkit compare``: parsers and commands.

Errors are one line on stderr (``labkit <cmd>: ...``) with exit status 2. A results file that
cannot be used is such a line too, but the brief is still written from the others (exit 2 tells
a script that something was skipped, as ``cat`` does for a missing file among several).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labkit._atomic import atomic_path

__all__ = ["add_study_parsers"]


def _fail(cmd: str, message: str) -> int:
    print(f"labkit {cmd}: {message}", file=sys.stderr)
    return 2


def _write_pair(md_path: Path, markdown: str, html: str) -> tuple[Path, Path]:
    """Both files, or neither: each goes to a temporary file that is renamed at the end."""
    html_path = md_path.with_suffix(".html")
    # both written before either is renamed into place
    with atomic_path(md_path) as md_tmp, atomic_path(html_path) as html_tmp:
        md_tmp.write_text(markdown, encoding="utf-8")
        html_tmp.write_text(html, encoding="utf-8")
    return md_path, html_path


def _brief(args: argparse.Namespace) -> int:
    from labkit.study.brief import build_brief

    out = Path(args.output)
    if out.suffix.lower() in (".html", ".htm"):
        out = out.with_suffix(".md")
    if not out.parent.is_dir():
        return _fail("brief", f"output folder {out.parent} does not exist")
    brief = build_brief(args.results)
    for problem in brief.problems:
        print(f"labkit brief: {problem}", file=sys.stderr)
    if not brief.labs_found and not brief.problems:
        return _fail(
            "brief",
            "no *_results.json found here or below; run a lab's notebooks or name the files",
        )
    try:
        md, html = _write_pair(out, brief.markdown, brief.html)
    except OSError as err:
        return _fail("brief", f"cannot write {out}: {err.strerror or err}")
    print(f"wrote {md} and {html} ({len(brief.labs_found)} of 5 labs with results)")
    return 2 if brief.problems else 0


def _load_results(paths: list[str]) -> dict:
    from labkit.study.brief import find_results
    from labkit.study.results import ResultsError, read

    found = {}
    for path in find_results(paths):
        try:
            res = read(path)
        except ResultsError as err:
            print(f"labkit drill: {err}", file=sys.stderr)
            continue
        if res.lab not in found or found[res.lab].written < res.written:
            found[res.lab] = res
    return found


def _drill(args: argparse.Namespace) -> int:
    from labkit.study.drill import DrillError, export_anki, filled_drills, session
    from labkit.study.results import LAB_IDS

    if args.lab is not None and args.lab not in LAB_IDS:
        return _fail("drill", f"unknown lab {args.lab!r}; choose one of {', '.join(LAB_IDS)}")
    if args.count < 1:
        return _fail("drill", f"--count must be at least 1, got {args.count}")
    cards = filled_drills(_load_results(args.results), args.lab)
    if args.export is not None:
        out = Path(args.output or "labkit_drills.apkg")
        if not out.parent.is_dir():
            return _fail("drill", f"output folder {out.parent} does not exist")
        try:
            path = export_anki(cards, out)
        except OSError as err:
            return _fail("drill", f"cannot write {out}: {err.strerror or err}")
        print(f"wrote {path}: {len(cards)} notes")
        return 0
    try:
        session(cards, limit=args.count)
    except DrillError as err:
        return _fail("drill", str(err))
    except KeyboardInterrupt:
        print("\n(stopped: ratings so far are saved)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from labkit.study.compare import compare

    if len(args.files) < 2:
        return _fail("compare", "name two or more results files (A.json B.json ...)")
    result = compare(args.files)
    for problem in result.problems:
        print(f"labkit compare: {problem}", file=sys.stderr)
    if result.text:
        print(result.text)
    return 2 if result.problems or not result.text else 0


def add_study_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``brief``, ``drill`` and ``compare`` to the ``labkit`` command line."""
    brief = sub.add_parser("brief", help="write an interview brief from your labs' results")
    brief.add_argument(
        "results",
        nargs="*",
        help="results files or folders (default: *_results.json here and in subfolders)",
    )
    brief.add_argument(
        "-o", "--output", default="interview_brief.md",
        help="Markdown file to write (default interview_brief.md); the HTML goes beside it",
    )  # fmt: skip
    brief.set_defaults(run=_brief)

    drill = sub.add_parser("drill", help="follow-up interview questions, spaced repetition")
    drill.add_argument("lab", nargs="?", help="one lab id (default: all labs)")
    drill.add_argument("--count", type=int, default=10, help="questions this session (10)")
    drill.add_argument(
        "--results", nargs="*", default=[],
        help="results files or folders (default: found here and in subfolders)",
    )  # fmt: skip
    drill.add_argument("--export", choices=["anki"], help="write a deck instead of asking")
    drill.add_argument("-o", "--output", help="deck file for --export (labkit_drills.apkg)")
    drill.set_defaults(run=_drill)

    comp = sub.add_parser("compare", help="the same figures from several machines, with ratios")
    comp.add_argument("files", nargs="+", help="two or more *_results.json files")
    comp.set_defaults(run=_compare)

"""Follow-up drills in spaced-repetition order (FSRS), and the same drills as an Anki deck.

The questions and model answers are package data (``data/drills.toml``); each answer's
placeholders are filled from the learner's results files. Review state is one JSON file in the
user's data folder (``$LABKIT_DATA_DIR``, else ``$XDG_DATA_HOME/labkit``, else
``~/.local/share/labkit``), rewritten atomically after every rating so an interrupted session
loses nothing. :func:`session` asks due cards first (earliest due first), then new ones in the
catalog's order; the FSRS scheduler (``fsrs`` 6) sets each card's next due date from the rating.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from labkit._atomic import atomic_path, write_atomic
from labkit.grading._paths import user_data_dir
from labkit.study.catalog import drills, fill
from labkit.study.results import LAB_IDS, Results

__all__ = [
    "RATINGS",
    "DrillError",
    "data_dir",
    "export_anki",
    "filled_drills",
    "load_state",
    "queue",
    "save_state",
    "session",
]

STATE_FILE = "drill_state.json"
RATINGS = {"1": "Again", "again": "Again", "2": "Hard", "hard": "Hard", "3": "Good",
           "good": "Good", "4": "Easy", "easy": "Easy"}  # fmt: skip


class DrillError(RuntimeError):
    """A drill state that cannot be read or written (message: one line, no traceback)."""


def data_dir() -> Path:
    """Where labkit keeps the learner's state."""
    if os.environ.get("LABKIT_DATA_DIR"):
        return Path(os.environ["LABKIT_DATA_DIR"])
    return user_data_dir()


def filled_drills(results: dict[str, Results], lab: str | None = None) -> list[dict[str, Any]]:
    """The drills (of ``lab``, or all) with the learner's numbers filled in."""
    if lab is not None and lab not in LAB_IDS:
        raise ValueError(f"lab must be one of {', '.join(LAB_IDS)}, got {lab!r}")
    out = []
    for d in drills():
        if lab is not None and d["lab"] != lab:
            continue
        figures = results[d["lab"]].figures if d["lab"] in results else None
        question, _ = fill(d["question"], figures)
        answer, missing = fill(d["answer"], figures)
        if d["lab"] not in results:
            answer += f" (Lab {d['lab']} has not been run here: no numbers of yours yet.)"
        out.append({**d, "question": question, "answer": answer, "missing": missing})
    return out


def load_state(path: Path | None = None) -> dict[str, Any]:
    """The saved review state, or an empty one when none was saved yet."""
    path = path or data_dir() / STATE_FILE
    if not path.exists():
        return {"schema": 1, "cards": {}}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DrillError(
            f"{path}: cannot read the drill state ({err}); move it away to start over"
        ) from None
    if (
        not isinstance(state, dict)
        or state.get("schema") != 1
        or not isinstance(state.get("cards"), dict)
    ):
        raise DrillError(f"{path}: not a labkit drill state (schema 1); move it away to start over")
    return state


def save_state(state: dict[str, Any], path: Path | None = None) -> Path:
    """Write the state atomically (temporary file, then rename)."""
    path = path or data_dir() / STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(state, indent=1))
    except OSError as err:
        raise DrillError(
            f"cannot write the drill state in {path.parent} ({err.strerror or err}); "
            "set LABKIT_DATA_DIR to a writable folder"
        ) from None
    return path


def queue(cards: Iterable[dict[str, Any]], state: dict[str, Any], now: dt.datetime) -> list[dict]:
    """Due cards (earliest due first), then new cards in catalog order; later ones left out."""
    from fsrs import Card

    due, new = [], []
    for card in cards:
        saved = state["cards"].get(card["id"])
        if saved is None:
            new.append(card)
        elif (when := Card.from_dict(saved).due) <= now:
            due.append((when, card))
    return [c for _, c in sorted(due, key=lambda x: x[0])] + new


def session(
    cards: list[dict[str, Any]],
    state_path: Path | None = None,
    *,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
    limit: int = 10,
    now: dt.datetime | None = None,
) -> int:
    """Ask up to ``limit`` due or new cards; returns how many were rated. EOF ends cleanly."""
    from fsrs import Card, Rating, Scheduler

    state_path = state_path or data_dir() / STATE_FILE
    state = load_state(state_path)
    if not state["cards"]:
        say(f"No drill state yet in {state_path.parent}: every question is new.")
    now = now or dt.datetime.now(dt.UTC)
    todo = queue(cards, state, now)[:limit]
    if not todo:
        later = [
            Card.from_dict(state["cards"][c["id"]]).due for c in cards if c["id"] in state["cards"]
        ]
        say(f"Nothing due now; the next question is due {min(later):%Y-%m-%d %H:%M} UTC." if later
            else "No questions for this lab.")  # fmt: skip
        return 0
    scheduler, rated = Scheduler(), 0
    for i, card in enumerate(todo, 1):
        try:
            say(f"\n[{i}/{len(todo)}] {card['lab']}: {card['question']}")
            if ask("(think, answer aloud, then press Enter; q stops) ").strip().lower() in (
                "q",
                "quit",
            ):
                break
            say(f"\nModel answer: {card['answer']}\nWhere: {card['where']}")
            reply = (
                ask("Rate yourself: 1 again, 2 hard, 3 good, 4 easy (q to stop): ").strip().lower()
            )
            while reply not in RATINGS and reply not in ("q", "quit"):
                reply = ask("Type 1, 2, 3, 4 (or again/hard/good/easy), or q: ").strip().lower()
        except EOFError:
            say("\n(input ended: progress so far is saved)")
            break
        if reply in ("q", "quit"):
            break
        saved = state["cards"].get(card["id"])
        fsrs_card = Card.from_dict(saved) if saved else Card()
        fsrs_card, _ = scheduler.review_card(fsrs_card, Rating[RATINGS[reply]], review_datetime=now)
        state["cards"][card["id"]] = fsrs_card.to_dict()
        save_state(state, state_path)
        rated += 1
        say(f"next review of this question: {fsrs_card.due:%Y-%m-%d %H:%M} UTC")
    return rated


def _stable_id(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) | 1 << 30


def export_anki(cards: list[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """An Anki deck (.apkg) of ``cards``: front the question, back the answer and its section."""
    import html

    import genanki

    model = genanki.Model(
        _stable_id("labkit drill model"),
        "labkit drill",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Where"}],
        templates=[{
            "name": "Card 1",
            "qfmt": "{{Question}}",
            "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}<br><br><i>{{Where}}</i>",
        }],
    )  # fmt: skip
    deck = genanki.Deck(_stable_id("labkit interview drills"), "labkit interview drills")
    for card in cards:
        fields = [html.escape(card[k]) for k in ("question", "answer", "where")]
        guid = genanki.guid_for(card["id"])
        deck.add_note(genanki.Note(model=model, fields=fields, guid=guid, tags=[card["lab"]]))
    target = Path(path)
    with atomic_path(target) as tmp:
        genanki.Package(deck).write_to_file(str(tmp))
    return target

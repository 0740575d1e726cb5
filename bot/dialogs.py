"""Runs the guided dialogs declared in ``knowledge/dialogs.yaml`` against a user's stored state.

A run lives in ``user.dialog``: ``{"id", "run", "step", "slots", "redo"}``. ``run`` is a short
nonce carried by every button of that run, so a button from an older run is recognised as stale.
Answers are also kept in ``user.profile`` and reused by later dialogs (the user can change them).
"""

from __future__ import annotations

import secrets
from typing import Any

from rapidfuzz import fuzz, process, utils

from bot.dialogcheck import END, choices, pick_result
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, short
from bot.schema import Dialog, Step
from bot.store import User

NUMBERS = "_numbers"  # profile key holding typed numbers, to restate them exactly


def start(kb: Knowledge, user: User, dialog: Dialog, fresh: bool = False) -> list[Reply]:
    """Begin ``dialog`` (replacing any active one); ``fresh`` re-asks remembered answers."""
    redo = sorted({s.slot for s in dialog.steps}) if fresh else []
    user.dialog = {
        "id": dialog.id,
        "run": secrets.token_hex(3),
        "step": dialog.start,
        "slots": {},
        "redo": redo,
    }
    return advance(kb, user)


def active(kb: Knowledge, user: User) -> tuple[Dialog, Step] | None:
    """The user's running dialog and its current step, if any (and if the data still has them)."""
    state = user.dialog
    if not state or state.get("id") not in kb.dialogs:
        return None
    dialog = kb.dialogs[state["id"]]
    step = next((s for s in dialog.steps if s.id == state["step"]), None)
    return (dialog, step) if step else None


def advance(kb: Knowledge, user: User, notes: list[str] | None = None) -> list[Reply]:
    """Skip steps the profile already answers; ask the next question or give the result."""
    state: dict[str, Any] = user.dialog or {}
    dialog = kb.dialogs[state["id"]]
    steps = {s.id: s for s in dialog.steps}
    notes = notes or []
    changes: list[Button] = []
    while state["step"] != END:
        step = steps[state["step"]]
        known = str(user.profile.get(step.slot, ""))
        nxt = _next_for(step, known) if step.slot not in state["redo"] else None
        if nxt is None:
            return [*_notes_reply(notes, changes), question(user, dialog, step)]
        state["slots"][step.slot] = known
        notes.append(f"{step.ask} → {describe(user, step, known)}")
        changes.append(
            Button(short(f"Change: {describe(user, step, known)}"), change_data(user, step))
        )
        state["step"] = nxt
    user.dialog = None
    return [*_notes_reply(notes, changes), result_reply(kb, dialog, state["slots"])]


def _notes_reply(notes: list[str], changes: list[Button]) -> list[Reply]:
    if not notes:
        return []
    text = "Using what you told me before:\n" + "\n".join(f"• {n}" for n in notes)
    return [Reply(text, buttons=changes)]


def _next_for(step: Step, value: Any) -> str | None:
    for option_value, nxt in choices(step):
        if option_value == value:
            return nxt
    return None


def describe(user: User, step: Step, value: str) -> str:
    """How a stored answer reads back to the user."""
    if step.input is not None:
        number = user.profile.get(NUMBERS, {}).get(step.slot)
        return f"{number:g}" if isinstance(number, int | float) else value
    return next((o.label for o in step.options if o.id == value), value)


def change_data(user: User, step: Step) -> str:
    """Callback data of a "Change" button for ``step`` in the user's current run."""
    return f"c:{(user.dialog or {})['run']}:{step.id}"


def question(user: User, dialog: Dialog, step: Step) -> Reply:
    """The message asking ``step``'s question, with its option buttons and a cancel button."""
    run = (user.dialog or {})["run"]
    buttons = [Button(o.label, f"a:{run}:{step.id}:{o.id}") for o in step.options]
    buttons.append(Button("Cancel", "x"))
    hint = "\n(Type a number.)" if step.input == "number" else ""
    return Reply(step.ask + hint, title=dialog.title, buttons=buttons)


def choose(kb: Knowledge, user: User, run: str, step_id: str, value: str) -> list[Reply] | None:
    """Apply a pressed option; None when the button is stale (another run or another step)."""
    found = active(kb, user)
    if not found or (user.dialog or {}).get("run") != run:
        return None
    step = found[1]
    if step.id != step_id:
        return None
    option = next((o for o in step.options if o.id == value), None)
    if option is None:
        return None
    return _record(kb, user, step, option.id, option.next)


def _record(kb: Knowledge, user: User, step: Step, value: str, nxt: str) -> list[Reply]:
    state: dict[str, Any] = user.dialog or {}
    state["slots"][step.slot] = value
    state["redo"] = [s for s in state["redo"] if s != step.slot]
    user.profile[step.slot] = value
    state["step"] = nxt
    return advance(kb, user)


def change(kb: Knowledge, user: User, run: str, step_id: str) -> list[Reply] | None:
    """Re-ask a remembered answer; None when the button is stale."""
    state = user.dialog
    if not state or state.get("run") != run or state["id"] not in kb.dialogs:
        return None
    dialog = kb.dialogs[state["id"]]
    step = next((s for s in dialog.steps if s.id == step_id), None)
    if step is None:
        return None
    state["redo"] = sorted({*state["redo"], step.slot})
    state["step"] = step.id
    return [question(user, dialog, step)]


def type_answer(kb: Knowledge, user: User, text: str) -> list[Reply] | None:
    """Apply typed text to the current step; None when it is not an answer to it."""
    found = active(kb, user)
    if not found:
        return None
    dialog, step = found
    if step.input == "number":
        number = _number(text)
        if number is None:
            return None
        if not step.min <= number <= step.max:
            invalid = step.invalid or f"Please type a number from {step.min:g} to {step.max:g}."
            return [Reply(invalid, title=dialog.title, buttons=[Button("Cancel", "x")])]
        value = next(
            (r.value for r in step.ranges if r.under is None or number < r.under),
            step.ranges[-1].value,
        )
        user.profile.setdefault(NUMBERS, {})[step.slot] = number
        return _record(kb, user, step, value, step.next or END)
    labels = {o.id: utils.default_process(o.label) for o in step.options}
    best = process.extractOne(
        utils.default_process(text), labels, scorer=fuzz.token_set_ratio, score_cutoff=90
    )
    if best is None:
        return None
    option = next(o for o in step.options if o.id == best[2])
    return _record(kb, user, step, option.id, option.next)


def invalid_number(kb: Knowledge, user: User) -> list[Reply]:
    """Re-ask a number step after text that is neither a number nor a question."""
    found = active(kb, user)
    assert found is not None
    dialog, step = found
    invalid = step.invalid or f"Please type a number from {step.min:g} to {step.max:g}."
    return [Reply(invalid, title=dialog.title, buttons=[Button("Cancel", "x")])]


def _number(text: str) -> float | None:
    cleaned = text.strip().lower().removesuffix("years").removesuffix("yrs").removesuffix("year")
    cleaned = cleaned.strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def result_reply(kb: Knowledge, dialog: Dialog, slots: dict[str, str]) -> Reply:
    """The recommendation for ``slots``, citing the sources of the entries it draws on."""
    result = pick_result(dialog, slots)
    assert result is not None  # `check` proves every path has one
    entries = [kb.entries[e] for e in result.entries]
    sources = kb.cite([s for e in entries for s in e.sources])
    buttons = [Button(short(e.title), f"t:{e.id}") for e in entries]
    buttons.append(Button("Start over", f"n:{dialog.id}"))
    return Reply(
        result.text, title=f"{dialog.title}: my suggestion", sources=sources, buttons=buttons
    )

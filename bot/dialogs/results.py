"""How a run reads back: a remembered answer restated, and the recommendation a tour ends in."""

from __future__ import annotations

from bot.buttons import FreshDialog
from bot.dialogcheck import pick_result
from bot.knowledge import Knowledge
from bot.replies import Button, Reply
from bot.schema import Dialog, Step
from bot.store import User
from bot.texts import topic_button

NUMBERS = "_numbers"  # profile key holding typed numbers, to restate them exactly


def describe(user: User, step: Step, value: str) -> str:
    """How a stored answer reads back to the user."""
    if step.input == "number":
        number = user.profile.get(NUMBERS, {}).get(step.slot)
        return f"{number:g}" if isinstance(number, int | float) else value
    return next((o.label for o in step.options if o.id == value), value)


def notes_reply(notes: list[str], changes: list[Button]) -> list[Reply]:
    """The "using what you told me before" note, with a Change button per remembered answer."""
    if not notes:
        return []
    text = "Using what you told me before:\n" + "\n".join(f"• {n}" for n in notes)
    return [Reply(text, buttons=changes)]


def result_reply(kb: Knowledge, dialog: Dialog, slots: dict[str, str]) -> Reply:
    """The recommendation for ``slots``, citing the sources of the entries it draws on."""
    result = pick_result(dialog, slots)
    if result is None:  # `check` proves every path has one: data that skipped it
        raise LookupError(f"dialog {dialog.id}: no result for {slots}")
    entries = [kb.entries[e] for e in result.entries]
    sources = kb.cite([s for e in entries for s in e.sources])
    buttons = [topic_button(e) for e in entries]
    buttons.append(Button("Start over", FreshDialog(dialog=dialog.id).pack()))
    title = f"{dialog.title}: my suggestion"
    return Reply(result.text, title=title, sources=sources, buttons=buttons)

"""Changing a saved reminder: ``/reminders``' "Change date/time" and "Rename".

They run the ``reminder_when`` and ``reminder_rename`` dialogs, which carry the reminder's id
and change only the presser's own reminder (its date question is worded by
:class:`~bot.reminders.setup.ReminderSetup`, like the set-up's).
"""

from __future__ import annotations

import datetime as dt

from bot.buttons import ChangeWhen, RenameReminder
from bot.dialogs import DialogRunner
from bot.errors import UserError
from bot.knowledge import Knowledge
from bot.reminders import views
from bot.reminders.models import DEFAULT_TIME, ReminderError
from bot.reminders.service import Reminders
from bot.reminders.setup import REMINDER, RENAME, WHEN, slot_date
from bot.replies import Reply, Turn
from bot.store import User
from bot.texts import Texts


class ReminderChanges:
    """Starts the change and rename dialogs on a saved reminder, and applies their answers."""

    def __init__(
        self, reminders: Reminders, kb: Knowledge, texts: Texts, dialogs: DialogRunner
    ) -> None:
        """Change through ``reminders``; start the runs with ``dialogs``."""
        self.reminders = reminders
        self.kb = kb
        self.texts = texts
        self.dialogs = dialogs

    def change_when(self, user: User, pressed: ChangeWhen) -> Turn | None:
        """/reminders' "Change date/time": ask the new date and time."""
        return self._start_on(user, pressed.reminder, WHEN)

    def rename(self, user: User, pressed: RenameReminder) -> Turn | None:
        """/reminders' "Rename": ask the new name."""
        return self._start_on(user, pressed.reminder, RENAME)

    def _start_on(self, user: User, reminder_id: int, dialog_id: str) -> Turn | None:
        reminder = self.reminders.owned(user.id, reminder_id)
        dialog = self.kb.dialogs.get(dialog_id)
        if reminder is None or dialog is None:
            return None  # another's reminder (a forged id), or one deleted since
        turn = self.dialogs.start(user, dialog, slots={REMINDER: str(reminder.id)})
        if dialog_id == RENAME:
            turn.replies.insert(0, Reply(f"Renaming: {reminder.title} ({reminder.when()})"))
        return turn

    def changed_when(self, user: User, slots: dict[str, str]) -> Turn:
        """The end of ``reminder_when``: move the reminder, its messages recomputed."""
        at = slots.get("time", "")
        try:
            saved = self.reminders.reschedule(
                user.id,
                _reminder_id(slots),
                slot_date(slots),
                dt.time.fromisoformat(at) if ":" in at else DEFAULT_TIME,
            )
        except UserError as exc:
            return Turn([Reply(f"I could not change that reminder: {exc}")])
        if saved is None:
            return Turn([self.texts.response("stale_button")])
        return Turn(
            [views.saved(saved, heading="Changed")],
            matched=True,
            notifications=saved.notifications,
        )

    def renamed(self, user: User, slots: dict[str, str]) -> Turn:
        """The end of ``reminder_rename``: the reminder's new title."""
        try:
            renamed = self.reminders.rename(user.id, _reminder_id(slots), slots.get("title", ""))
        except UserError as exc:
            return Turn([Reply(f"I could not rename that reminder: {exc}")])
        if renamed is None:
            return Turn([self.texts.response("stale_button")])
        reply = Reply(f"Renamed: {renamed.title}, {renamed.when()}", buttons=[views.MY_REMINDERS])
        return Turn([reply], matched=True)


def _reminder_id(slots: dict[str, str]) -> int:
    value = slots.get(REMINDER, "")
    if not value.isascii() or not value.isdigit():  # a run started by a forged d: button
        raise ReminderError("I don't know which reminder that is. Open /reminders and try again.")
    return int(value)

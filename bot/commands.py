"""The core commands and buttons: the menu, help, topics, charts, guided tours, feedback,
/export and /forget. Registered with the engine as a :class:`~bot.features.Feature`, as
reminders are."""

from __future__ import annotations

import json

from bot.answers import Answers
from bot.buttons import (
    Answer,
    Cancel,
    Change,
    Feedback,
    Forget,
    FreshDialog,
    Menu,
    More,
    Picture,
    Resume,
    StartDialog,
    Topic,
)
from bot.dialogs import DialogRunner
from bot.features import Command, Feature
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, Turn
from bot.store import Store, User
from bot.texts import Texts


class CoreCommands:
    """Answers the commands and presses that are not about reminders."""

    def __init__(
        self, kb: Knowledge, store: Store, texts: Texts, answers: Answers, dialogs: DialogRunner
    ) -> None:
        """Serve ``kb``; ``dialogs`` runs the guided tours."""
        self.kb = kb
        self.store = store
        self.texts = texts
        self.answers = answers
        self.dialogs = dialogs

    def feature(self) -> Feature:
        """Everything this module registers with the engine."""
        tours = {
            d.command: self._dialog_command(d.id) for d in self.kb.dialogs.values() if d.command
        }
        return Feature(
            commands={
                **tours,
                "start": lambda user, arg: self.start(user, arg, "start"),
                "menu": lambda user, arg: self.start(user, arg, "menu"),
                "help": lambda user, arg: self._said("help"),
                "cancel": self.cancel,
                "export": lambda user, arg: Turn([self.export(user.id)], matched=True),
                "forget": self.forget,
            },
            private=frozenset({"export", "forget"}),
            presses={
                Topic: self.topic,
                More: self.more,
                Picture: lambda user, pressed: self.answers.picture(pressed.chart),
                Feedback: self.feedback,
                Menu: lambda user, _: self._said("menu"),
                StartDialog: lambda user, pressed: self._start_dialog(user, pressed.dialog),
                FreshDialog: lambda user, pressed: self._start_dialog(user, pressed.dialog, True),
                Answer: lambda user, p: self.dialogs.choose(user, p.run, p.step, p.option),
                Change: lambda user, p: self.dialogs.change(user, p.run, p.step),
                Resume: self.resume,
                Cancel: lambda user, _: self.cancel(user, ""),
                Forget: self.forget_answer,
            },
        )

    def _said(self, response_id: str) -> Turn:
        return Turn([self.texts.response(response_id)], matched=True)

    def _dialog_command(self, dialog_id: str) -> Command:
        return lambda user, arg: self._start_dialog(user, dialog_id)

    def _start_dialog(self, user: User, dialog_id: str, fresh: bool = False) -> Turn | None:
        dialog = self.kb.dialogs.get(dialog_id)
        return self.dialogs.start(user, dialog, fresh=fresh) if dialog else None

    # --- commands -----------------------------------------------------------------------------

    def start(self, user: User, arg: str, name: str = "start") -> Turn:
        """``/start`` and ``/menu`` (``/start <entry>`` from a deep link: that entry)."""
        entry = self.kb.entries.get(arg)
        if entry:
            return self.answers.entry(user, entry)
        return self._said(name)

    def cancel(self, user: User, arg: str) -> Turn:
        """``/cancel`` the running dialog."""
        if not user.dialog:
            return self._said("nothing_to_cancel")
        dialog = self.kb.dialogs.get(user.dialog.id)
        user.dialog = None
        title = dialog.title if dialog else "it"
        return Turn([self.texts.response("cancelled", dialog=title)], matched=True)

    def export(self, user_id: str) -> Reply:
        """Everything stored about the user, as a reply whose text is the JSON."""
        data = self.store.export(user_id)
        intro = self.texts.response("export")
        return Reply(intro.text + "\n\n" + json.dumps(data, indent=2, ensure_ascii=False))

    def forget(self, user: User, arg: str) -> Turn:
        """``/forget``: ask before deleting everything."""
        confirm = self.texts.response("forget_confirm")
        confirm.buttons = [
            Button("Yes, delete", Forget(answer="yes").pack()),
            Button("No, keep", Forget(answer="no").pack()),
        ]
        return Turn([confirm], matched=True)

    # --- presses ------------------------------------------------------------------------------

    def topic(self, user: User, pressed: Topic) -> Turn | None:
        """An entry's answer."""
        entry = self.kb.entries.get(pressed.entry)
        return self.answers.entry(user, entry) if entry else None

    def more(self, user: User, pressed: More) -> Turn | None:
        """An entry's longer answer."""
        entry = self.kb.entries.get(pressed.entry)
        return self.answers.more(user, entry) if entry else None

    def feedback(self, user: User, pressed: Feedback) -> Turn | None:
        """Record a helpful / not helpful vote."""
        if pressed.entry not in self.kb.entries:
            return None
        self.store.curation.record_feedback(user.id, pressed.entry, pressed.helpful)
        return self._said("feedback_thanks")

    def resume(self, user: User, pressed: Resume) -> Turn | None:
        """Ask the running dialog's current step again."""
        running = self.dialogs.active(user)
        return Turn([self.dialogs.question(user, *running)], matched=True) if running else None

    def forget_answer(self, user: User, pressed: Forget) -> Turn:
        """Delete everything about the user, or keep it."""
        if pressed.answer == "no":
            return self._said("forget_kept")
        self.store.forget(user.id)
        return Turn([self.texts.response("forgotten")], matched=True, forgotten=True)

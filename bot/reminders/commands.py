"""The reminder and time-zone commands and buttons, registered with the engine as a Feature.

``/remind YYYY-MM-DD [HH:MM] what`` saves in one line (bare ``/remind`` is the guided dialog,
which ends in :meth:`ReminderCommands.from_dialog`), ``/reminders`` lists, ``/timezone`` sets the
zone and offers to move reminders set in another. This module never imports the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol
from zoneinfo import ZoneInfo

from bot import dates
from bot.buttons import (
    ChangeWhen,
    DeleteReminder,
    Done,
    EditDraft,
    ListReminders,
    PickDate,
    RenameReminder,
    SaveReminder,
    SetZone,
    Snooze,
    ZoneChoice,
)
from bot.dialogs import DialogRunner
from bot.errors import UserError
from bot.features import Feature
from bot.knowledge import Knowledge
from bot.reminders import rules, views
from bot.reminders.changes import ReminderChanges
from bot.reminders.models import DEFAULT_TIME, AlreadyDone
from bot.reminders.service import Reminders
from bot.reminders.setup import ReminderSetup, zone_of
from bot.replies import Button, Reply, Turn
from bot.schema import Step
from bot.store import User
from bot.texts import Texts


class _Match(Protocol):
    @property
    def intent(self) -> str | None: ...
    @property
    def score(self) -> float: ...


class Understands(Protocol):
    """What the reminders need of the matcher: words, and which intent a title names."""

    def match(self, text: str) -> _Match: ...


class ReminderCommands:
    """Answers the reminder and time-zone commands and presses."""

    def __init__(
        self,
        reminders: Reminders,
        kb: Knowledge,
        texts: Texts,
        reader: Understands,
        clock: Callable[[], float],
        dialogs: DialogRunner,
    ) -> None:
        """Save through ``reminders``; ``reader`` tells which credential a title names;
        ``dialogs`` runs the set-up and change dialogs."""
        self.reminders = reminders
        self.kb = kb
        self.texts = texts
        self.reader = reader
        self.clock = clock
        self.setup = ReminderSetup(reminders, kb, texts, dialogs, clock)
        self.changes = ReminderChanges(reminders, kb, texts, dialogs)

    def feature(self) -> Feature:
        """Everything this module registers with the engine."""
        return Feature(
            commands={"remind": self.remind, "reminders": self.listing, "timezone": self.timezone},
            private=frozenset({"remind", "reminders", "timezone"}),
            presses={
                ListReminders: lambda user, _: self.listing(user, ""),
                DeleteReminder: self.delete,
                Snooze: self.snooze,
                Done: self.done,
                ZoneChoice: self.zone_choice,
                SetZone: lambda user, pressed: self.timezone(user, pressed.zone),
                SaveReminder: self.setup.save,
                EditDraft: self.setup.edit,
                PickDate: self.setup.pick_date,
                ChangeWhen: self.changes.change_when,
                RenameReminder: self.changes.rename,
            },
            validators={"date": self.setup.valid_date, "time": valid_time, "text": valid_title},
            actions={
                "reminder": self.setup.confirm,
                "reminder_when": self.changes.changed_when,
                "reminder_rename": self.changes.renamed,
            },
            prompts={"date": self.setup.prompt_date},
            reads=self.setup.read,
            on_return=lambda user: self.reminders.resume_user(user.id),
        )

    def _today(self, user: User) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), ZoneInfo(zone_of(user))).date()

    # --- commands -----------------------------------------------------------------------------

    def remind(self, user: User, arg: str) -> Turn | None:
        """``/remind YYYY-MM-DD [HH:MM] what``: save at once, or say what is wrong; bare
        ``/remind`` is left to the engine (the guided dialog)."""
        if not arg:
            return None
        words = arg.split()
        try:
            day = dates.parse_date(words[0], self._today(user)).date
            at = DEFAULT_TIME
            if len(words) > 1 and any(c.isdigit() for c in words[1]):
                at = dates.parse_time(words[1])
                words = words[1:]
            title = " ".join(words[1:])
            entry, kind = self._credential_of(title)
            saved = self.reminders.save(
                user.id,
                title,
                day,
                at,
                zone_of(user),
                kind=kind,
                entry=entry,
                leads=rules.ONE_LINER_LEADS,
            )
        except UserError as exc:
            usage = self.texts.response("remind_usage", **dates.examples(self._today(user)))
            return Turn([Reply(f"{exc}\n\n{usage.text}")])
        return Turn([views.saved(saved)], matched=True, notifications=saved.notifications)

    def _credential_of(self, title: str) -> tuple[str | None, str]:
        """The certification a reminder's title names (if any) and the kind of date it is."""
        reader = self.setup.reader
        kind = (reader.kind_of(title) if reader else None) or "other"
        match = self.reader.match(title) if title else None
        entry = None
        if match and match.intent and match.intent.startswith("cert_") and match.score >= 0.5:
            entry = self.kb.intents[match.intent].answer
        return entry, kind

    def listing(self, user: User, arg: str = "") -> Turn:
        """``/reminders`` (and its button): the user's upcoming reminders."""
        listing = views.listing(self.reminders.upcoming(user.id), self._today(user))
        return Turn([listing], matched=True)

    def timezone(self, user: User, arg: str) -> Turn:
        """``/timezone [zone]``: say the zone, or set it and offer to move older reminders."""
        if not arg:
            return Turn([self.texts.response("timezone_help", zone=zone_of(user))], matched=True)
        try:
            zone = dates.parse_zone(arg)
        except dates.DateError as exc:  # "Did you mean America/New_York?" with a button for it
            suggested = dates.suggest_zones(arg) if len(arg) <= dates.MAX_ZONE_NAME else []
            buttons = [Button(f"Set {z}", SetZone(zone=z).pack()) for z in suggested]
            return Turn([Reply(str(exc), buttons=buttons)], matched=True)
        user.tz = zone.key
        now = dt.datetime.fromtimestamp(self.clock(), zone)
        replies = [self.texts.response("timezone_set", zone=zone.key, now=f"{now:%H:%M}")]
        others = self.reminders.in_other_zones(user.id, zone.key)
        if others:
            count, zones = str(sum(others.values())), ", ".join(others)
            offer = self.texts.response(
                "timezone_move_offer", count=count, zones=zones, zone=zone.key
            )
            offer.buttons = [
                Button("Move them", ZoneChoice(choice="move").pack()),
                Button("Keep them", ZoneChoice(choice="keep").pack()),
            ]
            replies.append(offer)
        return Turn(replies, matched=True)

    # --- presses ------------------------------------------------------------------------------

    def zone_choice(self, user: User, pressed: ZoneChoice) -> Turn | None:
        """Move the reminders set in other zones to the user's zone, or keep them."""
        if not user.tz:
            return None
        if pressed.choice == "keep":
            return Turn([self.texts.response("timezone_kept", zone=user.tz)], matched=True)
        moved, notifications = self.reminders.move_zone(user.id, user.tz)
        if not moved:
            return None
        reply = self.texts.response("timezone_moved", count=str(moved), zone=user.tz)
        return Turn([reply], matched=True, notifications=notifications)

    def delete(self, user: User, pressed: DeleteReminder) -> Turn | None:
        """Delete one of the user's reminders and show the list again."""
        if not self.reminders.delete(user.id, pressed.reminder):
            return None
        listing = views.listing(self.reminders.upcoming(user.id), self._today(user))
        return Turn([self.texts.response("reminder_deleted"), listing], matched=True)

    def done(self, user: User, pressed: Done) -> Turn | None:
        """End the occurrence a delivered message is about."""
        try:
            added = self.reminders.done(user.id, pressed.notification)
        except AlreadyDone as exc:
            return Turn([self.texts.response(f"already_{exc}")], matched=True)
        if added is None:
            return None
        return Turn([self.texts.response("reminder_done")], matched=True, notifications=added)

    def snooze(self, user: User, pressed: Snooze) -> Turn | None:
        """Send a delivered message again later."""
        try:
            snoozed = self.reminders.snooze(user.id, pressed.notification, pressed.minutes)
        except AlreadyDone as exc:
            return Turn([self.texts.response(f"already_{exc}")], matched=True)
        if snoozed is None:
            return None
        moment = dt.datetime.fromtimestamp(snoozed.fire_at, ZoneInfo(zone_of(user)))
        reply = self.texts.response("snoozed", at=f"{moment:%d %b %H:%M}")
        return Turn([reply], matched=True, notifications=[snoozed])


def valid_time(user: User, step: Step, text: str) -> tuple[str, str | None]:
    """A typed time of day, as HH:MM."""
    return dates.parse_time(text).strftime("%H:%M"), None


def valid_title(user: User, step: Step, text: str) -> tuple[str, str | None]:
    """A short title of the user's own."""
    title = " ".join(text.split())
    if not title:
        raise UserError('Please type a short title, like "CMM exam".')
    if len(title) > 200:
        raise UserError(f"That is {len(title)} characters; please keep it under 200.")
    return title, None

"""Setting a reminder up: from plain words or ``/remind``, through one confirmation, to the store.

A request typed anywhere ("remind me to renew my FACHE next June") starts the ``remind_setup``
dialog with what its words said already filled, so the dialog asks only what is missing: the
day of a month, which of two readings of a date, what it is for. Every set-up, typed or by
``/remind``, ends in one confirmation with Save / Change; nothing is stored before Save. Change
re-asks one field and comes back to the confirmation. While the confirmation waits, the run is
kept at the step :data:`CONFIRM`, which is no step of the dialog (typed text is then a question
or a new request, as outside any dialog).

``/reminders``' "Change date/time" and "Rename" run the ``reminder_when`` and ``reminder_rename``
dialogs (in :mod:`bot.reminders.changes`); their date question is this module's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from string import Template
from zoneinfo import ZoneInfo

from bot import dates
from bot.buttons import (
    Change,
    EditDraft,
    PickDate,
    SaveReminder,
    StartDialog,
)
from bot.dialogs import CANCEL, DialogRunner
from bot.errors import UserError
from bot.knowledge import Knowledge
from bot.reminders import rules, views
from bot.reminders.models import DEFAULT_TIME, KINDS, ReminderError
from bot.reminders.request import ReminderRequest, RequestReader
from bot.reminders.service import Reminders
from bot.replies import Button, Reply, Turn, short
from bot.schema import Step
from bot.store import User
from bot.texts import Texts

SETUP = "remind_setup"
WHEN = "reminder_when"
RENAME = "reminder_rename"
CONFIRM = "_confirm"  # the run's step while its confirmation waits for Save / Change
DEFAULT_LEADS = "d7,d1,d0"  # a request that names no lead time: a week, a day, on time
# Slots a run carries besides its steps' answers (the confirmation's notes, a month to complete,
# two readings of a date to choose from, the reminder a change is about)
NOTES, MONTH, CHOICES, REMINDER = "notes", "month", "choices", "reminder"
FIELDS = {
    "credential": "What",
    "kind": "Kind",
    "date": "Date",
    "time": "Time",
    "leads": "Messages",
    "repeat": "Repeat",
}


@dataclass(frozen=True)
class Draft:
    """The reminder a set-up run describes, as it would be saved."""

    title: str
    kind: str
    entry: str | None
    day: dt.date
    at: dt.time
    leads: list[int]
    repeat: str


class ReminderSetup:
    """Reads requests, words the date question, confirms, changes the draft and saves it."""

    def __init__(
        self,
        reminders: Reminders,
        kb: Knowledge,
        texts: Texts,
        dialogs: DialogRunner,
        clock: Callable[[], float],
    ) -> None:
        """Save through ``reminders``; start and advance runs with ``dialogs``."""
        self.reminders = reminders
        self.kb = kb
        self.texts = texts
        self.dialogs = dialogs
        self.clock = clock
        words = kb.reminder_words
        self.reader = RequestReader(words) if words is not None else None

    def _now(self, user: User) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), ZoneInfo(zone_of(user)))

    # --- a request in plain words ---------------------------------------------------------------

    def read(self, user: User, text: str, private: bool) -> Turn | None:
        """Typed text outside a dialog: a reminder request starts the set-up; else None."""
        if self.reader is None or SETUP not in self.kb.dialogs:
            return None
        zone = ZoneInfo(zone_of(user))
        request = self.reader.read(text, zone, dt.datetime.fromtimestamp(self.clock(), zone))
        if not request.is_request:
            return None
        if not private:
            return Turn([self.texts.response("private_only")], matched=True)
        slots, given = prefill(request, dt.datetime.fromtimestamp(self.clock(), zone))
        turn = self.dialogs.start(user, self.kb.dialogs[SETUP], slots=slots, given=given)
        if request.date_problem:
            turn.replies.insert(0, Reply(request.date_problem))
        return turn

    # --- the questions ---------------------------------------------------------------------

    def prompt_date(self, user: User, step: Step, asked: Reply) -> Reply:
        """The date question, for what the run knows: a month to complete, two readings, or the
        reminder being changed (a button keeps its date). Its example dates are dated from the
        user's today."""
        asked.text = Template(asked.text).safe_substitute(dates.examples(self._now(user).date()))
        state = user.dialog
        if state is None:
            return asked
        slots = state.slots
        if MONTH in slots:
            month = _month(slots[MONTH])
            asked.text = f"Which day in {month}? Type the day, like 14, or a whole date."
        elif CHOICES in slots:
            days = [dt.date.fromisoformat(d) for d in slots[CHOICES].split(",")]
            asked.text = f"Did you mean {_day(days[0])} or {_day(days[1])}?"
            picks = [Button(_day(d), PickDate(run=state.run, day=d).pack()) for d in days]
            asked.buttons[:0] = picks
        elif REMINDER in slots and state.id == WHEN:
            reminder = self.reminders.owned(user.id, int(slots[REMINDER]))
            if reminder is not None:
                asked.text = f"{reminder.title}: {reminder.when()}.\n{asked.text}"
                keep = PickDate(run=state.run, day=reminder.day).pack()
                asked.buttons.insert(0, Button(f"Keep {_day(reminder.day)}", keep))
        return asked

    def valid_date(self, user: User, step: Step, text: str) -> tuple[str, str | Reply | None]:
        """A typed date (or the day of the month a request named), read in the user's zone; a
        date with another reading comes with a button for it."""
        today = self._now(user).date()
        state = user.dialog
        month = state.slots.get(MONTH) if state else None
        if month:
            parsed = dates.complete_month(_month(month), text, today)
        else:
            parsed = dates.parse_date(text, today)
        if state is None:
            return parsed.date.isoformat(), parsed.note
        state.slots.pop(MONTH, None)
        state.slots.pop(CHOICES, None)
        if parsed.at is not None and "time" not in state.redo:  # "March 14 at 9am"
            state.slots["time"] = f"{parsed.at:%H:%M}"
            state.given = sorted({*state.given, "time"})
        if parsed.alternative is None:
            return parsed.date.isoformat(), parsed.note
        other = PickDate(run=state.run, day=parsed.alternative).pack()
        note = parsed.note or f"I read that as {_day(parsed.date)}."
        button = Button(f"No, {_day(parsed.alternative)}", other)
        return parsed.date.isoformat(), Reply(note, buttons=[button])

    # --- the confirmation -----------------------------------------------------------------------

    def confirm(self, user: User, slots: dict[str, str]) -> Turn:
        """The end of the set-up dialog: show what would be saved, with Save / Change."""
        try:
            self.draft(slots)
        except UserError as exc:  # a forged Change button can jump past the date step
            again = Button("Try again", StartDialog(dialog=SETUP).pack())
            return Turn([Reply(f"I could not save that reminder: {exc}", buttons=[again])])
        state = self.dialogs.keep(user, SETUP, CONFIRM, slots)
        return Turn([self._confirmation(user, state.run, slots)], matched=True)

    def _confirmation(self, user: User, run: str, slots: dict[str, str]) -> Reply:
        draft = self.draft(slots)
        zone = zone_of(user)
        when = f"{draft.day:%A} {draft.day.day} {draft.day:%B %Y}, {draft.at:%H:%M} ({zone})"
        notes = [n for n in slots.get(NOTES, "").split("\n") if n]
        buttons = [
            Button("Save", SaveReminder(run=run).pack()),
            Button("Change", EditDraft(run=run).pack()),
            CANCEL,
        ]
        return views.draft(
            draft.title, draft.kind, when, draft.leads, draft.repeat, notes, buttons
        )

    def draft(self, slots: dict[str, str]) -> Draft:
        """The reminder ``slots`` describe (a run's answers)."""
        entry = self.kb.entries.get(slots.get("credential", ""))
        kind = slots.get("kind", "other")
        kind = kind if kind in KINDS else "other"
        title = slots.get("credential", "")
        if entry:
            name = entry.short or rules.short_name(entry.title)
            title = f"{name} {KINDS[kind]}".strip()
        at = slots.get("time", "")
        leads = [rules.lead_minutes(v) for v in slots.get("leads", "d0").split(",") if v]
        return Draft(
            title=title,
            kind=kind,
            entry=entry.id if entry else None,
            day=slot_date(slots),
            at=dt.time.fromisoformat(at) if ":" in at else DEFAULT_TIME,
            leads=leads,
            repeat=slots.get("repeat", "none"),
        )

    def _waiting(self, user: User, run: str) -> dict[str, str] | None:
        """The slots of the user's confirmation ``run`` is about; None if it is not waiting."""
        state = user.dialog
        if state is None or state.id != SETUP or state.step != CONFIRM or state.run != run:
            return None
        return state.slots

    def save(self, user: User, pressed: SaveReminder) -> Turn | None:
        """Save: store the reminder the confirmation shows."""
        slots = self._waiting(user, pressed.run)
        if slots is None:
            return None
        try:
            draft = self.draft(slots)
            saved = self.reminders.save(
                user.id,
                draft.title,
                draft.day,
                draft.at,
                zone_of(user),
                kind=draft.kind,
                entry=draft.entry,
                leads=draft.leads,
                repeat=draft.repeat,
            )
        except UserError as exc:  # a moment that passed while the confirmation waited
            change = Button("Change the date", Change(run=pressed.run, step="date").pack())
            return Turn([Reply(f"I could not save that reminder: {exc}", buttons=[change])])
        user.dialog = None
        return Turn([views.saved(saved)], matched=True, notifications=saved.notifications)

    def edit(self, user: User, pressed: EditDraft) -> Turn | None:
        """Change: which field of the waiting reminder to change."""
        slots = self._waiting(user, pressed.run)
        if slots is None:
            return None
        slots.pop(NOTES, None)  # how the request was read: a change may make it untrue
        draft = self.draft(slots)
        said = {
            "credential": draft.title,
            "kind": KINDS[draft.kind],
            "date": _day(draft.day),
            "time": f"{draft.at:%H:%M}",
            "leads": f"{len(draft.leads)} message{'s' if len(draft.leads) != 1 else ''}",
            "repeat": "once" if draft.repeat == "none" else draft.repeat,
        }
        buttons = [
            Button(short(f"{label}: {said[slot]}"), Change(run=pressed.run, step=slot).pack())
            for slot, label in FIELDS.items()
        ]
        buttons.append(Button("Save as it is", SaveReminder(run=pressed.run).pack()))
        return Turn([Reply("What should I change?", title="New reminder", buttons=buttons)])

    def pick_date(self, user: User, pressed: PickDate) -> Turn | None:
        """A date button: the answer to the date question, or a "did you mean" after it."""
        state = user.dialog
        if state is None or state.run != pressed.run:
            return None
        day = dates.parse_date(pressed.day.isoformat(), self._now(user).date()).date.isoformat()
        found = self.dialogs.active(user)
        if found and found[1].input == "date":
            state.slots.pop(MONTH, None)
            state.slots.pop(CHOICES, None)
            return self.dialogs.give(user, pressed.run, found[1].id, day)
        if state.id != SETUP or "date" not in state.slots:
            return None
        state.slots["date"] = day
        said = Reply(f"Changed: the date is {_day(pressed.day)}.")
        if state.step == CONFIRM:
            return Turn([said, self._confirmation(user, state.run, state.slots)], matched=True)
        if found is None:
            return None
        return Turn([said, self.dialogs.question(user, *found)], matched=True)


def prefill(request: ReminderRequest, now: dt.datetime) -> tuple[dict[str, str], list[str]]:
    """The set-up run's slots from a request read at ``now`` (aware, in the user's zone), and
    which of them its words said (their steps are not asked)."""
    slots: dict[str, str] = {
        "time": f"{request.time:%H:%M}",
        "leads": ",".join(f"m{m}" for m in request.leads) or _default_leads(request, now),
        "repeat": request.repeat or "none",
    }
    if request.credential or request.title:
        slots["credential"] = request.credential or request.title or ""
    if request.kind:
        slots["kind"] = request.kind
    if request.month is not None:
        slots[MONTH] = f"{request.month.year:04d}-{request.month.month:02d}"
    elif request.date is not None and request.date_alternative is not None:
        slots[CHOICES] = f"{request.date.isoformat()},{request.date_alternative.isoformat()}"
    elif request.date is not None:
        slots["date"] = request.date.isoformat()
    given: list[str] = [slot for slot in ("credential", "kind", "date") if slot in slots]
    given += ["time", "leads", "repeat"]
    notes = [n for n in request.notes if n]
    if CHOICES in slots and notes:  # the reader puts a date's note first: the question replaces it
        notes = notes[1:]
    if notes:
        slots[NOTES] = "\n".join(notes)
    return slots, given


def _default_leads(request: ReminderRequest, now: dt.datetime) -> str:
    """A week, a day and on time before a known moment, leaving out those already past."""
    if request.date is None:
        return DEFAULT_LEADS
    moment = dt.datetime.combine(request.date, request.time, now.tzinfo)
    ahead = [
        v
        for v in DEFAULT_LEADS.split(",")
        if moment - dt.timedelta(minutes=rules.lead_minutes(v)) > now
    ]
    return ",".join(ahead) or "d0"


def zone_of(user: User) -> str:
    """The user's time zone; UTC until they set one."""
    return user.tz or "UTC"


def _month(value: str) -> dates.MonthOnly:
    year, month = value.split("-")
    return dates.MonthOnly(int(year), int(month))


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def slot_date(slots: dict[str, str]) -> dt.date:
    """The date a run's answers hold; :class:`ReminderError` if its date step was skipped."""
    try:
        return dt.date.fromisoformat(slots.get("date", ""))
    except ValueError:  # only the date step fills it, always as ISO: a run that skipped it
        raise ReminderError("it has no date. Please start again and type one.") from None

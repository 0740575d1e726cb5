"""Schedule and recurrence rules as plain functions: no SQLite, no clock of their own.

``now`` is always passed in (a UTC epoch), so each rule can be tested on its own.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.dates import add_months
from bot.reminders.models import KINDS, MAX_TITLE, REPEATS, Reminder, ReminderError

ONE_LINER_LEADS = [7 * 1440, 1440, 0]  # /remind in one line: a week before, a day before, on time
LEAD_UNITS = {"w": 7 * 1440, "d": 1440, "h": 60, "m": 1}
DIGITS = re.compile(r"[0-9]{1,12}")


def clean_title(title: str, kind: str = "other", repeat: str = "none") -> str:
    """The title with its spaces squeezed; raises :class:`ReminderError` if it cannot be saved."""
    title = " ".join(title.split())
    if not title:
        raise ReminderError("A reminder needs a title, such as CMM exam.")
    if len(title) > MAX_TITLE:
        raise ReminderError(
            f"That title is {len(title)} characters long; please keep it under {MAX_TITLE}."
        )
    if kind not in KINDS or repeat not in REPEATS:
        raise ReminderError("That kind of reminder or repeat is not one I know.")
    return title


def lead_order(leads: list[int] | None) -> list[int]:
    """Lead times (minutes before the event) without repeats, earliest message first."""
    return sorted(set(leads if leads is not None else [0]), reverse=True)


def fire_at(reminder: Reminder, day: dt.date, lead: int) -> float:
    """When to notify ``lead`` minutes ahead; whole days keep the wall time across DST."""
    if lead and lead % 1440 == 0:
        return reminder.event(day - dt.timedelta(days=lead // 1440)).timestamp()
    return reminder.event(day).timestamp() - lead * 60


def ahead(reminder: Reminder, day: dt.date, now: float) -> list[tuple[int, float]]:
    """The (lead, fire_at) pairs of the occurrence on ``day`` still ahead of ``now``; when every
    lead time has passed, at least the moment itself."""
    found = [(lead, f) for lead in reminder.leads if (f := fire_at(reminder, day, lead)) > now]
    return found or [(0, reminder.event(day).timestamp())]


def next_occurrence(reminder: Reminder, after: dt.date, now: float) -> dt.date:
    """A repeating reminder's next date after ``after`` whose moment is still ahead of ``now``.

    Counted from the first date, so "monthly on the 31st" is the 28th in February and the 31st
    again in March; occurrences missed while offline are skipped.
    """
    months = 12 if reminder.repeat == "yearly" else 1
    anchor = reminder.first_day or reminder.day
    step = 1
    while True:
        nxt = add_months(anchor, months * step)
        if nxt > after and reminder.event(nxt).timestamp() > now:
            return nxt
        step += 1


def moved_fire_at(reminder: Reminder, day: dt.date, lead: int, now: float) -> float:
    """A notification's time after its reminder moved zone; one already past goes out now."""
    return max(now, fire_at(reminder, day, lead))


def lead_minutes(value: str) -> int:
    """An option id like ``d30`` (30 days), ``w1``, ``h3`` or ``d0`` as minutes."""
    unit, digits = value[:1], value[1:]
    return LEAD_UNITS.get(unit, 0) * int(digits) if DIGITS.fullmatch(digits) else 0


def short_name(title: str) -> str:
    """ "CMM (Certified Medical Manager)" -> "CMM"; a title's name before any comma or bracket."""
    return title.split(",")[0].split("(")[0].split(":")[0].strip()

"""Reminder and notification types, the limits on them, and the reminder errors.

The bottom of the reminders package: every other module of it imports this one, and this one
imports nothing of the package. Times are the user's wall time plus zone; each notification also
has its moment in UTC (``fire_at``, an epoch).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.dates import to_utc
from bot.errors import UserError
from bot.notifications import Notification as Notification  # a reminder's, named here too

MAX_REMINDERS = 50
CLAIM_LEASE = 120.0  # seconds a claim to send a notification holds (Notifications.claim)
MAX_TITLE = 200
KINDS = {"exam": "exam", "renewal": "renewal", "ceu": "CEU deadline", "other": "reminder"}
REPEATS = {"none": "", "yearly": "every year", "monthly": "every month"}
SNOOZE = -1  # the ``lead`` of a snoozed notification
LATE_AFTER = 60.0  # seconds past its time after which a notification says it is late
DEFAULT_TIME = dt.time(9, 0)


class ReminderError(UserError):
    """A reminder that cannot be saved; str() is a message for the user."""


class AlreadyDone(Exception):
    """A button pressed again: what it does was already done for the message it is on.

    ``str()`` names what was done: ``snoozed``, ``pending`` or ``done``.
    """


@dataclass(frozen=True)
class Reminder:
    """A reminder as stored."""

    id: int
    user_id: str
    title: str
    kind: str
    entry: str | None
    day: dt.date
    at: dt.time
    tz: str
    leads: list[int]
    repeat: str
    first_day: dt.date | None = None  # a repeat's first date (its anchor: the 31st stays)

    def event(self, day: dt.date | None = None) -> dt.datetime:
        """The event's moment (UTC) on ``day`` (default: the current occurrence)."""
        return to_utc(day or self.day, self.at, ZoneInfo(self.tz))

    def when(self, day: dt.date | None = None) -> str:
        """The event's local date, time and zone, as a person reads it."""
        d = day or self.day
        return f"{d:%A} {d.day} {d:%B %Y}, {self.at:%H:%M} ({self.tz})"


@dataclass(frozen=True)
class Saved:
    """What saving a reminder did: the reminder, the (lead, fire_at) pairs scheduled, and the new
    notifications; ``duplicate`` when the same reminder was already set and nothing was saved."""

    reminder: Reminder
    scheduled: list[tuple[int, float]]
    notifications: list[Notification]
    duplicate: bool = False

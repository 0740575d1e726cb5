"""``Reminders``: what channels and tests call on ``engine.reminders``.

The repository's and the occurrences' methods (``pending``, ``notification``, ``claim``,
``release``, ``recover``, ``mark_sent``, ``pause_user``, ``snooze`` ...) plus the two that make
replies: ``create`` (the confirmation) and ``message`` (the reminder message itself).

New notifications come back where they are made: in the engine's :class:`~bot.replies.Turn`
(``Turn.notifications``) and from ``mark_sent``; a delivering channel schedules them from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.knowledge import Knowledge
from bot.reminders import views
from bot.reminders.models import LATE_AFTER, Notification
from bot.reminders.occurrences import Occurrences
from bot.replies import Reply
from bot.store import Store


class Reminders(Occurrences):
    """Reminders for exams, renewals and CEU deadlines: stored, listed, advanced, worded."""

    def __init__(self, store: Store, kb: Knowledge, clock: Callable[[], float] = time.time):
        """Work on ``store``; ``clock`` gives the current UTC epoch (tests control it)."""
        super().__init__(store, clock)
        self.kb = kb

    def create(self, *args: Any, **kwargs: Any) -> Reply:
        """Save a reminder (with :meth:`save`'s arguments) and return its confirmation."""
        return views.saved(self.save(*args, **kwargs))

    def message(self, notification: Notification, *, online_since: float) -> Reply:
        """The reminder message for ``notification`` (late if due before ``online_since``)."""
        reminder = self.get(notification.reminder_id)
        if reminder is None:  # deleting a reminder deletes its notifications in one commit
            raise LookupError(f"notification {notification.id} has no reminder")
        return views.message(
            self.kb,
            reminder,
            notification,
            now=self.clock(),
            online_since=online_since,
            late_after=LATE_AFTER,
        )

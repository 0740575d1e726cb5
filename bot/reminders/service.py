"""``Reminders``: what channels and tests call on ``engine.reminders``.

The repository's methods (``pending``, ``notification``, ``claim``, ``release``, ``recover``,
``mark_sent``, ``pause_user``, ``snooze`` ...) plus the two that make replies: ``create`` (the
confirmation) and ``message`` (the reminder message itself).

New notifications come back where they are made: in the engine's :class:`~bot.replies.Turn`
(``Turn.notifications``) and from :meth:`mark_sent`. ``drain()`` is kept for the Telegram channel
until it schedules those directly: it hands over what turns for a delivering channel (one that
passes ``chat`` to the engine) and ``mark_sent`` created since the last call, nothing else, so
``chat`` and ``ask`` leave nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.knowledge import Knowledge
from bot.reminders import views
from bot.reminders.models import LATE_AFTER, Notification
from bot.reminders.repository import ReminderRepository
from bot.replies import Reply
from bot.store import Store


class Reminders(ReminderRepository):
    """Reminders for exams, renewals and CEU deadlines: stored, listed, advanced, worded."""

    def __init__(self, store: Store, kb: Knowledge, clock: Callable[[], float] = time.time):
        """Work on ``store``; ``clock`` gives the current UTC epoch (tests control it)."""
        super().__init__(store, clock)
        self.kb = kb
        self._handed: list[Notification] = []

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

    def mark_sent(self, notification_id: int) -> list[Notification]:
        """Record that Telegram accepted a notification; return any new ones (the next repeat)."""
        added = super().mark_sent(notification_id)
        self._handed += added
        return added

    def hand_over(self, notifications: list[Notification]) -> None:
        """Keep a delivering channel's new notifications until it calls :meth:`drain`."""
        self._handed += notifications

    def drain(self) -> list[Notification]:
        """Hand over the notifications kept since the last call (for the channel to schedule)."""
        out, self._handed = self._handed, []
        return out

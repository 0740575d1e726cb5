"""Reminder SQL for occurrences: a message sent, snoozed or done, and the next repeat after it.

Every statement goes through :meth:`Store.execute` like the rest of the reminder SQL
(:mod:`bot.reminders.repository`), so a database failure is a :class:`~bot.database.StoreError`;
every change is committed before a method returns, and the notifications a repeat creates are
returned for the caller to schedule.
"""

from __future__ import annotations

import datetime as dt

from bot.reminders import rules
from bot.reminders.models import SNOOZE, AlreadyDone, Notification
from bot.reminders.repository import ReminderRepository


class Occurrences(ReminderRepository):
    """Reminders advanced through their occurrences: messages sent, snoozed and done."""

    def mark_sent(self, notification_id: int) -> list[Notification]:
        """Record that Telegram accepted a notification; return any new ones (the next repeat)."""
        with self.store.transaction():
            row = self.store.execute(
                """SELECT reminder_id, occurrence FROM notifications
                   WHERE id = ? AND state IN ('pending', 'sending')""",
                (notification_id,),
            ).fetchone()
            if row is None:
                return []
            self.store.execute(
                "UPDATE notifications SET state = 'sent', sent_at = ? WHERE id = ?",
                (self.clock(), notification_id),
            )
            return self._after_occurrence(int(row[0]), str(row[1]))

    def _after_occurrence(self, reminder_id: int, occurrence: str) -> list[Notification]:
        """When an occurrence has nothing left to send: schedule the next repeat, or finish."""
        left = self.store.execute(
            """SELECT count(*) FROM notifications WHERE reminder_id = ? AND occurrence = ?
               AND state = 'pending'""",
            (reminder_id, occurrence),
        ).fetchone()[0]
        reminder = self.get(reminder_id)
        if left or reminder is None:
            return []
        if reminder.repeat == "none":
            self.store.execute("UPDATE reminders SET state = 'done' WHERE id = ?", (reminder_id,))
            return []
        now = self.clock()
        nxt = rules.next_occurrence(reminder, dt.date.fromisoformat(occurrence), now)
        self.store.execute(
            "UPDATE reminders SET local_date = ? WHERE id = ?", (nxt.isoformat(), reminder_id)
        )
        self.add(reminder, nxt, now)
        return self.of_reminder(reminder_id, nxt.isoformat())

    def _owned(self, user_id: str, notification_id: int) -> tuple[int, str, str, str, str] | None:
        """A message's reminder id, occurrence, message state, reminder state and current date,
        if both the message and its reminder are the user's (button data is untrusted)."""
        row = self.store.execute(
            """SELECT n.reminder_id, n.occurrence, n.state, r.state, r.local_date
               FROM notifications n
               JOIN reminders r ON r.id = n.reminder_id AND r.user_id = n.user_id
               WHERE n.id = ? AND n.user_id = ?""",
            (notification_id, user_id),
        ).fetchone()
        return (int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4])) if row else None

    def snooze(self, user_id: str, notification_id: int, minutes: int) -> Notification | None:
        """Send a delivered notification again in ``minutes``; None if it is not the user's.

        Raises :class:`AlreadyDone` when that message was snoozed before: one press, one snooze.
        """
        fire_at = self.clock() + minutes * 60
        with self.store.transaction():
            owned = self._owned(user_id, notification_id)
            if owned is None:
                return None
            reminder_id, occurrence, state, _, _ = owned
            if state != "sent":
                raise AlreadyDone("snoozed" if state == "snoozed" else "pending")
            self.store.execute(
                "UPDATE notifications SET state = 'snoozed' WHERE id = ?", (notification_id,)
            )
            cursor = self.store.execute(
                """INSERT INTO notifications (reminder_id, user_id, occurrence, lead, fire_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (reminder_id, user_id, occurrence, SNOOZE, fire_at),
            )
            self.store.execute(
                "UPDATE reminders SET state = 'active' WHERE id = ?", (reminder_id,)
            )
        return Notification(
            int(cursor.lastrowid or 0), reminder_id, user_id, fire_at, SNOOZE, occurrence
        )

    def done(self, user_id: str, notification_id: int) -> list[Notification] | None:
        """Stop the rest of the occurrence a message was about (a repeat moves to its next date).

        Returns the next occurrence's notifications, or None if the message is not the user's;
        raises :class:`AlreadyDone` when that occurrence is already over.
        """
        owned = self._owned(user_id, notification_id)
        if owned is None:
            return None
        reminder_id, occurrence, _, state, current = owned
        if state == "done" or current != occurrence:
            raise AlreadyDone("done")
        with self.store.transaction():
            self.store.execute(
                """UPDATE notifications SET state = 'cancelled'
                   WHERE reminder_id = ? AND occurrence = ? AND state = 'pending'""",
                (reminder_id, occurrence),
            )
            return self._after_occurrence(reminder_id, occurrence)

"""Reminder SQL: the notification rows (one per message to send) and the reminder rows.

The store is the source of truth. A notification is ``pending`` until a channel reports that
Telegram accepted it (``mark_sent``); channels schedule only what the store says is pending.
Every statement goes through :meth:`Store.execute`, so a database failure is a
:class:`~bot.database.StoreError` naming the file; every change is committed before a method
returns. Methods that create notifications return them, for the caller to schedule. What
happens to an occurrence once its messages go out (sent, snoozed, done, the next repeat) is in
:mod:`bot.reminders.occurrences`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.reminders import rules
from bot.reminders.models import (
    CLAIM_LEASE,
    MAX_REMINDERS,
    SNOOZE,
    Notification,
    Reminder,
    ReminderError,
    Saved,
)
from bot.store import Store

PACE = "reminders"  # the name of the reminder messages' shared pace (Store.next_send_at)
NOTIFICATION = "SELECT id, reminder_id, user_id, fire_at, lead, occurrence FROM notifications"
REMINDER = """SELECT id, user_id, title, kind, entry, local_date, local_time, tz, leads, repeat,
              first_date FROM reminders"""


def _reminder(row: tuple[Any, ...]) -> Reminder:
    rid, user_id, title, kind, entry, day, at, tz, leads, repeat, first = row
    return Reminder(
        int(rid),
        str(user_id),
        str(title),
        str(kind),
        entry,
        dt.date.fromisoformat(day),
        dt.time.fromisoformat(at),
        str(tz),
        list(json.loads(leads)),
        str(repeat),
        dt.date.fromisoformat(first) if first else None,
    )


class Notifications:
    """The notification rows: what is pending, and their delivery states."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        """Work on ``store``; ``clock`` gives the current UTC epoch (tests control it)."""
        self.store = store
        self.clock = clock

    def pending(self, until: float | None = None) -> list[Notification]:
        """Notifications still to send (optionally only those due by ``until``), oldest first."""
        sql = f"{NOTIFICATION} WHERE state = 'pending'"
        args: tuple[float, ...] = ()
        if until is not None:
            sql, args = sql + " AND fire_at <= ?", (until,)
        rows = self.store.execute(sql + " ORDER BY fire_at, id", args).fetchall()
        return [Notification(*row) for row in rows]

    def notification(self, notification_id: int) -> Notification | None:
        """A notification if it is still pending."""
        row = self.store.execute(
            f"{NOTIFICATION} WHERE id = ? AND state = 'pending'", (notification_id,)
        ).fetchone()
        return Notification(*row) if row else None

    def of_reminder(self, reminder_id: int, occurrence: str | None = None) -> list[Notification]:
        """A reminder's pending notifications (of one occurrence, if given), soonest first."""
        rows = self.store.execute(
            f"""{NOTIFICATION} WHERE reminder_id = ? AND state = 'pending'
                AND (? IS NULL OR occurrence = ?) ORDER BY fire_at""",
            (reminder_id, occurrence, occurrence),
        ).fetchall()
        return [Notification(*row) for row in rows]

    def add(self, reminder: Reminder, day: dt.date, now: float) -> list[tuple[int, float]]:
        """Insert the notifications of the occurrence on ``day`` that are still ahead."""
        scheduled = rules.ahead(reminder, day, now)
        with self.store.transaction():
            for lead, fire_at in scheduled:
                self.store.execute(
                    """INSERT OR IGNORE INTO notifications (reminder_id, user_id, occurrence,
                       lead, fire_at) VALUES (?, ?, ?, ?, ?)""",
                    (reminder.id, reminder.user_id, day.isoformat(), lead, fire_at),
                )
        return scheduled

    def claim(self, notification_id: int, interval: float = 0.0) -> float | None:
        """Take a pending notification for sending (committed first): the moment to send it at,
        or None if it is not pending.

        A claimed notification is sent by whoever claimed it and by no one else; it goes back to
        pending with :meth:`release` when the send fails, or with :meth:`recover` after a crash.
        The claim holds for ``CLAIM_LEASE`` seconds: on a store several processes share, one
        left by a process that was killed is taken back by another once it has expired.

        The moment is now, unless ``interval`` is given: then the claim also reserves the next
        moment of the reminder pace shared by every process of the store (``interval`` seconds
        after the one reserved before it), in the same commit, so all of them together send at
        most one reminder message per ``interval``.
        """
        now = self.clock()
        with self.store.transaction():
            taken = self.store.execute(
                """UPDATE notifications SET state = 'sending', claimed_until = ?
                   WHERE id = ? AND state = 'pending'""",
                (now + CLAIM_LEASE, notification_id),
            ).rowcount
            if taken != 1:
                return None
            if interval <= 0:
                return now
            send_at = self.store.next_send_at(PACE, now, interval)
            if send_at > now:  # the lease runs from the send, however long the wait for it
                self.store.execute(
                    "UPDATE notifications SET claimed_until = ? WHERE id = ?",
                    (send_at + CLAIM_LEASE, notification_id),
                )
            return send_at

    def release(self, notification_id: int) -> None:
        """Put a claimed notification back to pending (its send failed and will be retried)."""
        self._set_state(notification_id, "sending", "pending")

    def _set_state(self, notification_id: int, old: str, new: str) -> int:
        with self.store.transaction():
            return self.store.execute(
                "UPDATE notifications SET state = ? WHERE id = ? AND state = ?",
                (new, notification_id, old),
            ).rowcount

    def recover(self, expired_only: bool = False) -> list[Notification]:
        """Claims left by a process that died go back to pending; return those notifications.

        At start-up on SQLite every claim is such a one (the file serves one process). With
        ``expired_only`` (a store shared by several processes) only claims whose lease has run
        out: the others belong to a process that may be sending right now.
        """
        with self.store.transaction():
            rows = self.store.execute(
                """UPDATE notifications SET state = 'pending', claimed_until = NULL
                   WHERE state = 'sending' AND (? = 0 OR claimed_until IS NULL
                   OR claimed_until < ?) RETURNING id""",
                (int(expired_only), self.clock()),
            ).fetchall()
        found = [self.notification(int(i)) for (i,) in rows]
        return [n for n in found if n is not None]

    def pause_user(self, user_id: str) -> None:
        """Hold a user's notifications (they blocked the bot); nothing is deleted."""
        with self.store.transaction():
            self.store.execute(
                """UPDATE notifications SET state = 'paused'
                   WHERE user_id = ? AND state IN ('pending', 'sending')""",
                (user_id,),
            )

    def resume_user(self, user_id: str) -> list[Notification]:
        """Release a user's held notifications (they wrote again); return them to schedule."""
        with self.store.transaction():
            changed = self.store.execute(
                """UPDATE notifications SET state = 'pending'
                   WHERE user_id = ? AND state = 'paused'""",
                (user_id,),
            ).rowcount
        return [n for n in self.pending() if n.user_id == user_id] if changed else []


class ReminderRepository(Notifications):
    """Reminders: saved, listed, moved, renamed, deleted."""

    def get(self, reminder_id: int) -> Reminder | None:
        """One reminder by id."""
        row = self.store.execute(f"{REMINDER} WHERE id = ?", (reminder_id,)).fetchone()
        return _reminder(row) if row else None

    def save(
        self,
        user_id: str,
        title: str,
        day: dt.date,
        at: dt.time,
        tz: str,
        *,
        kind: str = "other",
        entry: str | None = None,
        leads: list[int] | None = None,
        repeat: str = "none",
    ) -> Saved:
        """Validate and save a reminder with its notifications (or find the same one set before).

        Everything is committed before this returns, so a confirmation never promises more than
        what is on disk. Raises :class:`ReminderError` for a reminder that cannot be saved.
        """
        title = rules.clean_title(title, kind, repeat)
        new = Reminder(
            0, user_id, title, kind, entry, day, at, tz, rules.lead_order(leads), repeat
        )
        now = self.clock()
        if new.event().timestamp() <= now:
            raise ReminderError("That moment is already in the past. Pick a future date or time.")
        with self.store.transaction():
            if self._open_count(user_id) >= MAX_REMINDERS:
                raise ReminderError(
                    f"You already have {MAX_REMINDERS} reminders, the most I keep for one "
                    "person. Delete some in /reminders first."
                )
            same = self._same(new)
            if same is not None:  # a repeated request (a retry, a double tap) sets nothing new
                return Saved(same, [], [], duplicate=True)
            reminder = self._insert(new, now)
            scheduled = self.add(reminder, day, now)
        return Saved(reminder, scheduled, self.of_reminder(reminder.id))

    def _open_count(self, user_id: str) -> int:
        return int(
            self.store.execute(
                "SELECT count(*) FROM reminders WHERE user_id = ? AND state != 'done'", (user_id,)
            ).fetchone()[0]
        )

    def _same(self, new: Reminder) -> Reminder | None:
        row = self.store.execute(
            f"""{REMINDER} WHERE user_id = ? AND title = ? AND local_date = ? AND local_time = ?
                AND tz = ? AND repeat = ? AND state != 'done'""",
            (new.user_id, new.title, new.day.isoformat(), f"{new.at:%H:%M}", new.tz, new.repeat),
        ).fetchone()
        return _reminder(row) if row else None

    def _insert(self, new: Reminder, now: float) -> Reminder:
        cursor = self.store.execute(
            """INSERT INTO reminders (user_id, title, kind, entry, local_date, first_date,
               local_time, tz, leads, repeat, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                new.user_id,
                new.title,
                new.kind,
                new.entry,
                new.day.isoformat(),
                new.day.isoformat(),
                f"{new.at:%H:%M}",
                new.tz,
                json.dumps(new.leads),
                new.repeat,
                now,
            ),
        )
        return replace(new, id=int(cursor.lastrowid or 0), first_day=new.day)

    def upcoming(self, user_id: str) -> list[tuple[Reminder, float | None]]:
        """The user's active reminders, soonest first, each with its next message's time."""
        rows = self.store.execute(
            """SELECT r.id, min(n.fire_at) FROM reminders r
               LEFT JOIN notifications n ON n.reminder_id = r.id AND n.state = 'pending'
               WHERE r.user_id = ? AND r.state = 'active' GROUP BY r.id
               ORDER BY r.local_date, r.local_time""",
            (user_id,),
        ).fetchall()
        found = [(self.get(int(rid)), next_at) for rid, next_at in rows]
        return [(r, next_at) for r, next_at in found if r is not None]

    def in_other_zones(self, user_id: str, tz: str) -> dict[str, int]:
        """How many of the user's unfinished reminders are set in each zone other than ``tz``."""
        rows = self.store.execute(
            """SELECT tz, count(*) FROM reminders WHERE user_id = ? AND state != 'done'
               AND tz != ? GROUP BY tz ORDER BY tz""",
            (user_id, tz),
        ).fetchall()
        return {zone: int(count) for zone, count in rows}

    def move_zone(self, user_id: str, tz: str) -> tuple[int, list[Notification]]:
        """Move the user's unfinished reminders to ``tz``, keeping their local dates and times.

        Their pending and held notifications get the new times (a snoozed one keeps its moment);
        one whose new time has already passed goes out now. Returns how many reminders moved and
        their pending notifications (to schedule again).
        """
        now = self.clock()
        with self.store.transaction():
            ids = [
                int(row[0])
                for row in self.store.execute(
                    "SELECT id FROM reminders WHERE user_id = ? AND state != 'done' AND tz != ?",
                    (user_id, tz),
                ).fetchall()
            ]
            self.store.execute(
                "UPDATE reminders SET tz = ? WHERE user_id = ? AND state != 'done'", (tz, user_id)
            )
            for reminder in filter(None, map(self.get, ids)):
                rows = self.store.execute(
                    """SELECT id, occurrence, lead FROM notifications WHERE reminder_id = ?
                       AND state IN ('pending', 'paused') AND lead != ?""",
                    (reminder.id, SNOOZE),
                ).fetchall()
                for notification_id, occurrence, lead in rows:
                    day = dt.date.fromisoformat(occurrence)
                    self.store.execute(
                        "UPDATE notifications SET fire_at = ? WHERE id = ?",
                        (rules.moved_fire_at(reminder, day, lead, now), notification_id),
                    )
        return len(ids), [n for i in ids for n in self.of_reminder(i)]

    def owned(self, user_id: str, reminder_id: int) -> Reminder | None:
        """One of the user's unfinished reminders; None for another's (a forged id), a gone one."""
        reminder = self.get(reminder_id)
        if reminder is None or reminder.user_id != user_id:
            return None
        row = self.store.execute("SELECT state FROM reminders WHERE id = ?", (reminder_id,))
        return reminder if row.fetchone()[0] != "done" else None

    def reschedule(
        self, user_id: str, reminder_id: int, day: dt.date, at: dt.time
    ) -> Saved | None:
        """Move one of the user's reminders to ``day`` at ``at`` (in its zone), its messages
        recomputed in the same commit; None if it is not theirs. A repeat counts from ``day``.

        The messages still to come are cancelled (kept as rows, like those a "Done" ends) and
        the new ones inserted; one already being sent is left to finish.
        """
        reminder = self.owned(user_id, reminder_id)
        if reminder is None:
            return None
        moved = replace(reminder, day=day, at=at, first_day=day)
        now = self.clock()
        if moved.event().timestamp() <= now:
            raise ReminderError("That moment is already in the past. Pick a future date or time.")
        with self.store.transaction():
            self.store.execute(
                """UPDATE reminders SET local_date = ?, first_date = ?, local_time = ?,
                   state = 'active' WHERE id = ? AND user_id = ?""",
                (day.isoformat(), day.isoformat(), f"{at:%H:%M}", reminder_id, user_id),
            )
            self.store.execute(
                """UPDATE notifications SET state = 'cancelled' WHERE reminder_id = ?
                   AND user_id = ? AND state IN ('pending', 'paused')""",
                (reminder_id, user_id),
            )
            scheduled = self.add(moved, day, now)
        return Saved(moved, scheduled, self.of_reminder(reminder_id))

    def rename(self, user_id: str, reminder_id: int, title: str) -> Reminder | None:
        """Give one of the user's reminders a new title; None if it is not theirs."""
        reminder = self.owned(user_id, reminder_id)
        if reminder is None:
            return None
        title = rules.clean_title(title, reminder.kind, reminder.repeat)
        with self.store.transaction():
            self.store.execute(
                "UPDATE reminders SET title = ? WHERE id = ? AND user_id = ?",
                (title, reminder_id, user_id),
            )
        return replace(reminder, title=title)

    def delete(self, user_id: str, reminder_id: int) -> bool:
        """Delete one of the user's reminders and its notifications; False if not theirs."""
        with self.store.transaction():
            gone = self.store.execute(
                "DELETE FROM reminders WHERE id = ? AND user_id = ?", (reminder_id, user_id)
            ).rowcount
            if gone:  # only the owner's: a forged id of someone else's reminder touches nothing
                self.store.execute(
                    "DELETE FROM notifications WHERE reminder_id = ? AND user_id = ?",
                    (reminder_id, user_id),
                )
        return bool(gone)

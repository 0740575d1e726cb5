"""Reminders for exams, renewals and CEU deadlines: stored in SQLite, one row per notification.

The store is the source of truth. A notification is ``pending`` until a channel reports that
Telegram accepted it (``mark_sent``); channels schedule only what the store says is pending.
Times are kept as the user's wall time plus zone, and each notification's moment in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.dates import DateError, add_months, describe_lead, to_utc
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, short
from bot.store import Store

CLAIM_LEASE = 120.0  # seconds a claim to send a notification holds (see Reminders.claim)
MAX_REMINDERS = 50
MAX_TITLE = 200
KINDS = {"exam": "exam", "renewal": "renewal", "ceu": "CEU deadline", "other": "reminder"}
REPEATS = {"none": "", "yearly": "every year", "monthly": "every month"}
SNOOZE = -1  # the ``lead`` of a snoozed notification
LATE_AFTER = 60.0  # seconds past its time after which a notification says it is late


class ReminderError(ValueError):
    """A reminder that cannot be saved; str() is a message for the user."""


class AlreadyDone(Exception):
    """A button pressed again: what it does was already done for the message it is on."""


@dataclass(frozen=True)
class Notification:
    """One message to send: which reminder, when (UTC epoch), and for which occurrence."""

    id: int
    reminder_id: int
    user_id: str
    fire_at: float
    lead: int
    occurrence: str


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

    def event(self, day: dt.date | None = None) -> dt.datetime:
        """The event's moment (UTC) on ``day`` (default: the current occurrence)."""
        return to_utc(day or self.day, self.at, ZoneInfo(self.tz))

    def when(self, day: dt.date | None = None) -> str:
        """The event's local date, time and zone, as a person reads it."""
        d = day or self.day
        return f"{d:%A} {d.day} {d:%B %Y}, {self.at:%H:%M} ({self.tz})"


class Reminders:
    """Creates, lists and advances reminders; transport-free."""

    def __init__(self, store: Store, kb: Knowledge, clock: Callable[[], float] = time.time):
        """Work on ``store``; ``clock`` gives the current UTC epoch (tests control it)."""
        self.store = store
        self.kb = kb
        self.clock = clock
        self.outbox: list[Notification] = []  # new pending notifications a channel must schedule

    def drain(self) -> list[Notification]:
        """Hand over the notifications created since the last call (for a channel to schedule)."""
        out, self.outbox = self.outbox, []
        return out

    # --- creating ---------------------------------------------------------------------------

    def create(
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
    ) -> Reply:
        """Validate and save a reminder with its notifications; return the confirmation.

        Everything is committed before this returns, so the confirmation never promises more
        than what is on disk.
        """
        title = " ".join(title.split())
        if not title:
            raise ReminderError("A reminder needs a title, e.g. /remind 2027-03-14 CMM exam")
        if len(title) > MAX_TITLE:
            raise ReminderError(
                f"That title is {len(title)} characters long; please keep it under {MAX_TITLE}."
            )
        if kind not in KINDS or repeat not in REPEATS:
            raise ReminderError("That kind of reminder or repeat is not one I know.")
        leads = sorted(set(leads if leads is not None else [0]), reverse=True)
        zone = ZoneInfo(tz)
        event = to_utc(day, at, zone).timestamp()
        now = self.clock()
        if event <= now:
            raise ReminderError("That moment is already in the past. Pick a future date or time.")
        count = self.store.db.execute(
            "SELECT count(*) FROM reminders WHERE user_id = ? AND state != 'done'", (user_id,)
        ).fetchone()[0]
        if count >= MAX_REMINDERS:
            raise ReminderError(
                f"You already have {MAX_REMINDERS} reminders, the most I keep for one person. "
                "Delete some in /reminders first."
            )
        same = self.store.db.execute(
            """SELECT id FROM reminders WHERE user_id = ? AND title = ? AND local_date = ?
               AND local_time = ? AND tz = ? AND repeat = ? AND state != 'done'""",
            (user_id, title, day.isoformat(), at.strftime("%H:%M"), tz, repeat),
        ).fetchone()
        if same is not None:  # a repeated request (a retry, a double tap) sets nothing new
            existing = self.get(int(same[0]))
            assert existing is not None
            return Reply(
                f"You already have this reminder: {existing.title}, {existing.when()}. "
                "Nothing new was saved.",
                title="Already set",
                buttons=[Button("My reminders", "rl")],
            )
        with self.store.transaction() as db:
            cursor = db.execute(
                """INSERT INTO reminders (user_id, title, kind, entry, local_date, first_date,
                   local_time, tz, leads, repeat, created)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    user_id,
                    title,
                    kind,
                    entry,
                    day.isoformat(),
                    day.isoformat(),
                    at.strftime("%H:%M"),
                    tz,
                    json.dumps(leads),
                    repeat,
                    now,
                ),
            )
            reminder = self.get(int(cursor.lastrowid or 0))
            assert reminder is not None
            scheduled = self._add_occurrence(reminder, day, now)
        self.outbox += self._for_reminder(reminder.id)
        return self._confirmation(reminder, scheduled)

    def _add_occurrence(
        self, reminder: Reminder, day: dt.date, now: float
    ) -> list[tuple[int, float]]:
        """Insert the notifications of the occurrence on ``day`` that are still ahead."""
        event = reminder.event(day).timestamp()
        ahead = [
            (lead, f) for lead in reminder.leads if (f := self._fire_at(reminder, day, lead)) > now
        ]
        if not ahead:  # every lead time already passed: at least remind at the moment itself
            ahead = [(0, event)]
        for lead, fire_at in ahead:
            self.store.db.execute(
                """INSERT OR IGNORE INTO notifications (reminder_id, user_id, occurrence, lead,
                   fire_at) VALUES (?, ?, ?, ?, ?)""",
                (reminder.id, reminder.user_id, day.isoformat(), lead, fire_at),
            )
        return ahead

    @staticmethod
    def _fire_at(reminder: Reminder, day: dt.date, lead: int) -> float:
        """When to notify ``lead`` minutes ahead; whole days keep the wall time across DST."""
        if lead and lead % 1440 == 0:
            return reminder.event(day - dt.timedelta(days=lead // 1440)).timestamp()
        return reminder.event(day).timestamp() - lead * 60

    def _confirmation(self, reminder: Reminder, scheduled: list[tuple[int, float]]) -> Reply:
        zone = ZoneInfo(reminder.tz)
        lines = [f"Saved: {reminder.title} ({KINDS[reminder.kind]})", f"When: {reminder.when()}"]
        if reminder.tz == "UTC":
            lines.append("Your time zone is UTC until you set yours, e.g. /timezone Europe/Berlin")
        lines.append("I'll message you:")
        for lead, fire_at in scheduled:
            moment = dt.datetime.fromtimestamp(fire_at, zone)
            lines.append(
                f"• {moment:%a} {moment.day} {moment:%b %Y} {moment:%H:%M} "
                f"({describe_lead(dt.timedelta(minutes=lead))})"
            )
        skipped = [lead for lead in reminder.leads if lead not in {s[0] for s in scheduled}]
        if skipped:
            gone = ", ".join(describe_lead(dt.timedelta(minutes=m)) for m in skipped)
            lines.append(f"(Skipped, already past: {gone}.)")
        if reminder.repeat != "none":
            lines.append(f"Repeats {REPEATS[reminder.repeat]}.")
        return Reply(
            "\n".join(lines),
            title="Reminder saved",
            buttons=[
                Button("My reminders", "rl"),
            ],
        )

    # --- reading ----------------------------------------------------------------------------

    def get(self, reminder_id: int) -> Reminder | None:
        """One reminder by id."""
        row = self.store.db.execute(
            """SELECT id, user_id, title, kind, entry, local_date, local_time, tz, leads, repeat
               FROM reminders WHERE id = ?""",
            (reminder_id,),
        ).fetchone()
        if row is None:
            return None
        rid, user_id, title, kind, entry, day, at, tz, leads, repeat = row
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
        )

    def pending(self, until: float | None = None) -> list[Notification]:
        """Notifications still to send (optionally only those due by ``until``), oldest first."""
        sql = """SELECT id, reminder_id, user_id, fire_at, lead, occurrence FROM notifications
                 WHERE state = 'pending'"""
        args: tuple[float, ...] = ()
        if until is not None:
            sql += " AND fire_at <= ?"
            args = (until,)
        rows = self.store.db.execute(sql + " ORDER BY fire_at, id", args).fetchall()
        return [Notification(*row) for row in rows]

    def in_other_zones(self, user_id: str, tz: str) -> dict[str, int]:
        """How many of the user's unfinished reminders are set in each zone other than ``tz``."""
        rows = self.store.db.execute(
            """SELECT tz, count(*) FROM reminders WHERE user_id = ? AND state != 'done'
               AND tz != ? GROUP BY tz ORDER BY tz""",
            (user_id, tz),
        ).fetchall()
        return {zone: int(count) for zone, count in rows}

    def move_zone(self, user_id: str, tz: str) -> int:
        """Move the user's unfinished reminders to ``tz``, keeping their local dates and times.

        Their pending and held notifications get the new times (a snoozed one keeps its moment);
        one whose new time has already passed goes out now. Returns how many reminders moved.
        """
        now = self.clock()
        with self.store.transaction() as db:
            ids = [
                row[0]
                for row in db.execute(
                    """SELECT id FROM reminders WHERE user_id = ? AND state != 'done'
                       AND tz != ?""",
                    (user_id, tz),
                )
            ]
            for reminder_id in ids:
                db.execute("UPDATE reminders SET tz = ? WHERE id = ?", (tz, reminder_id))
                reminder = self.get(reminder_id)
                assert reminder is not None
                rows = db.execute(
                    """SELECT id, occurrence, lead FROM notifications WHERE reminder_id = ?
                       AND state IN ('pending', 'paused') AND lead != ?""",
                    (reminder_id, SNOOZE),
                ).fetchall()
                for notification_id, occurrence, lead in rows:
                    day = dt.date.fromisoformat(occurrence)
                    fire_at = max(now, self._fire_at(reminder, day, lead))
                    db.execute(
                        "UPDATE notifications SET fire_at = ? WHERE id = ?",
                        (fire_at, notification_id),
                    )
        for reminder_id in ids:
            self.outbox += self._for_reminder(reminder_id)
        return len(ids)

    def notification(self, notification_id: int) -> Notification | None:
        """A notification if it is still pending."""
        row = self.store.db.execute(
            """SELECT id, reminder_id, user_id, fire_at, lead, occurrence FROM notifications
               WHERE id = ? AND state = 'pending'""",
            (notification_id,),
        ).fetchone()
        return Notification(*row) if row else None

    def listing(self, user_id: str) -> Reply:
        """The user's upcoming reminders, each with a delete button."""
        rows = self.store.db.execute(
            """SELECT r.id, min(n.fire_at) FROM reminders r
               LEFT JOIN notifications n ON n.reminder_id = r.id AND n.state = 'pending'
               WHERE r.user_id = ? AND r.state = 'active' GROUP BY r.id
               ORDER BY r.local_date, r.local_time""",
            (user_id,),
        ).fetchall()
        if not rows:
            return Reply(
                "You have no reminders. Set one with /remind, or in one line: "
                "/remind 2027-03-14 09:00 CMM exam",
                title="Your reminders",
            )
        lines: list[str] = []
        buttons: list[Button] = []
        for n, (rid, next_at) in enumerate(rows, start=1):
            reminder = self.get(int(rid))
            assert reminder is not None
            extra = ""
            if next_at is not None:
                moment = dt.datetime.fromtimestamp(next_at, ZoneInfo(reminder.tz))
                extra = f"; next message {moment:%d %b %Y %H:%M}"
            repeat = f", {REPEATS[reminder.repeat]}" if reminder.repeat != "none" else ""
            lines.append(f"{n}. {reminder.title}: {reminder.when()}{repeat}{extra}")
            buttons.append(Button(short(f"Delete {n}. {reminder.title}"), f"rd:{rid}"))
        return Reply("\n".join(lines), title="Your reminders", buttons=buttons)

    # --- changing ---------------------------------------------------------------------------

    def delete(self, user_id: str, reminder_id: int) -> bool:
        """Delete one of the user's reminders and its notifications; False if not theirs."""
        with self.store.transaction() as db:
            gone = db.execute(
                "DELETE FROM reminders WHERE id = ? AND user_id = ?", (reminder_id, user_id)
            ).rowcount
            if gone:  # only the owner's: a forged id of someone else's reminder touches nothing
                db.execute(
                    "DELETE FROM notifications WHERE reminder_id = ? AND user_id = ?",
                    (reminder_id, user_id),
                )
        return bool(gone)

    def claim(self, notification_id: int) -> bool:
        """Take a pending notification for sending (committed first); False if it is not pending.

        A claimed notification is sent by whoever claimed it and by no one else; it goes back to
        pending with :meth:`release` when the send fails, or with :meth:`recover` after a crash.
        The claim holds for ``CLAIM_LEASE`` seconds: on a store several processes share, one
        left by a process that was killed is taken back by another once it has expired.
        """
        with self.store.transaction() as db:
            claimed = db.execute(
                """UPDATE notifications SET state = 'sending', claimed_until = ?
                   WHERE id = ? AND state = 'pending'""",
                (self.clock() + CLAIM_LEASE, notification_id),
            ).rowcount
        return claimed == 1

    def release(self, notification_id: int) -> None:
        """Put a claimed notification back to pending (its send failed and will be retried)."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE notifications SET state = 'pending' WHERE id = ? AND state = 'sending'",
                (notification_id,),
            )

    def recover(self, expired_only: bool = False) -> list[Notification]:
        """Claims left by a process that died go back to pending; return those notifications.

        At start-up on SQLite every claim is such a one (the file serves one process). With
        ``expired_only`` (a store shared by several processes) only claims whose lease has run
        out: the others belong to a process that may be sending right now.
        """
        with self.store.transaction() as db:
            rows = db.execute(
                """UPDATE notifications SET state = 'pending', claimed_until = NULL
                   WHERE state = 'sending' AND (? = 0 OR claimed_until IS NULL
                   OR claimed_until < ?) RETURNING id""",
                (int(expired_only), self.clock()),
            ).fetchall()
        found = [self.notification(int(i)) for (i,) in rows]
        return [n for n in found if n is not None]

    def mark_sent(self, notification_id: int) -> list[Notification]:
        """Record that Telegram accepted a notification; return any new ones (the next repeat)."""
        added: list[Notification] = []
        with self.store.transaction() as db:
            row = db.execute(
                """SELECT reminder_id, occurrence FROM notifications
                   WHERE id = ? AND state IN ('pending', 'sending')""",
                (notification_id,),
            ).fetchone()
            if row is None:
                return []
            db.execute(
                "UPDATE notifications SET state = 'sent', sent_at = ? WHERE id = ?",
                (self.clock(), notification_id),
            )
            reminder_id, occurrence = row
            added = self._after_occurrence(int(reminder_id), occurrence)
        self.outbox += added
        return added

    def _after_occurrence(self, reminder_id: int, occurrence: str) -> list[Notification]:
        """When an occurrence has nothing left to send: schedule the next repeat, or finish."""
        left = self.store.db.execute(
            """SELECT count(*) FROM notifications WHERE reminder_id = ? AND occurrence = ?
               AND state = 'pending'""",
            (reminder_id, occurrence),
        ).fetchone()[0]
        reminder = self.get(reminder_id)
        if left or reminder is None:
            return []
        if reminder.repeat == "none":
            self.store.db.execute(
                "UPDATE reminders SET state = 'done' WHERE id = ?", (reminder_id,)
            )
            return []
        day = dt.date.fromisoformat(occurrence)
        months = 12 if reminder.repeat == "yearly" else 1
        (first,) = self.store.db.execute(
            "SELECT first_date FROM reminders WHERE id = ?", (reminder_id,)
        ).fetchone()
        anchor = dt.date.fromisoformat(first) if first else reminder.day
        step = 1
        now = self.clock()
        while True:  # the next occurrence still ahead (skips any missed while offline)
            nxt = add_months(anchor, months * step)
            if nxt > day and reminder.event(nxt).timestamp() > now:
                break
            step += 1
        self.store.db.execute(
            "UPDATE reminders SET local_date = ? WHERE id = ?", (nxt.isoformat(), reminder_id)
        )
        self._add_occurrence(reminder, nxt, now)
        return [n for n in self._for_reminder(reminder_id) if n.occurrence == nxt.isoformat()]

    def _for_reminder(self, reminder_id: int) -> list[Notification]:
        rows = self.store.db.execute(
            """SELECT id, reminder_id, user_id, fire_at, lead, occurrence FROM notifications
               WHERE reminder_id = ? AND state = 'pending' ORDER BY fire_at""",
            (reminder_id,),
        ).fetchall()
        return [Notification(*row) for row in rows]

    def _owned(self, user_id: str, notification_id: int) -> tuple[int, str, str, str, str] | None:
        """A message's reminder id, occurrence, message state, reminder state and current date,
        if both the message and its reminder are the user's (button data is untrusted)."""
        row = self.store.db.execute(
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
        with self.store.transaction() as db:
            owned = self._owned(user_id, notification_id)
            if owned is None:
                return None
            reminder_id, occurrence, state, _, _ = owned
            if state != "sent":
                raise AlreadyDone("snoozed" if state == "snoozed" else "pending")
            db.execute(
                "UPDATE notifications SET state = 'snoozed' WHERE id = ?", (notification_id,)
            )
            cursor = db.execute(
                """INSERT INTO notifications (reminder_id, user_id, occurrence, lead, fire_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (reminder_id, user_id, occurrence, SNOOZE, fire_at),
            )
            db.execute("UPDATE reminders SET state = 'active' WHERE id = ?", (reminder_id,))
        snoozed = Notification(
            int(cursor.lastrowid or 0), reminder_id, user_id, fire_at, SNOOZE, occurrence
        )
        self.outbox.append(snoozed)
        return snoozed

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
        with self.store.transaction() as db:
            db.execute(
                """UPDATE notifications SET state = 'cancelled'
                   WHERE reminder_id = ? AND occurrence = ? AND state = 'pending'""",
                (reminder_id, occurrence),
            )
            added = self._after_occurrence(reminder_id, occurrence)
        self.outbox += added
        return added

    def pause_user(self, user_id: str) -> None:
        """Hold a user's notifications (they blocked the bot); nothing is deleted."""
        with self.store.transaction() as db:
            db.execute(
                """UPDATE notifications SET state = 'paused'
                   WHERE user_id = ? AND state IN ('pending', 'sending')""",
                (user_id,),
            )

    def resume_user(self, user_id: str) -> list[Notification]:
        """Release a user's held notifications (they wrote again); return them to schedule."""
        with self.store.transaction() as db:
            changed = db.execute(
                """UPDATE notifications SET state = 'pending'
                   WHERE user_id = ? AND state = 'paused'""",
                (user_id,),
            ).rowcount
        if not changed:
            return []
        released = [n for n in self.pending() if n.user_id == user_id]
        self.outbox += released
        return released

    # --- the message ------------------------------------------------------------------------

    def message(self, notification: Notification, *, online_since: float) -> Reply:
        """The reminder message: what, when, how soon, late or not, and the credential's facts.

        It says it is late when it was due before ``online_since`` (when the channel started
        sending, so it was offline then) and is over ``LATE_AFTER`` past its time.
        """
        reminder = self.get(notification.reminder_id)
        assert reminder is not None
        day = dt.date.fromisoformat(notification.occurrence)
        event = reminder.event(day).timestamp()
        now = self.clock()
        lines: list[str] = []
        if notification.fire_at < online_since and now - notification.fire_at > LATE_AFTER:
            due = dt.datetime.fromtimestamp(notification.fire_at, ZoneInfo(reminder.tz))
            lines.append(f"(Late: this was due {due:%d %b %Y %H:%M}, while I was offline. Sorry!)")
        lines.append(f"{reminder.title} ({KINDS[reminder.kind]}): {reminder.when(day)}")
        if event > now:
            lines.append(f"That is {_until(event - now)} from now.")
        else:
            lines.append("That is now." if now - event < 3600 else "That moment has passed.")
        sources: list[str] = []
        entry = self.kb.entries.get(reminder.entry or "")
        if entry:
            wanted = "renewal" if reminder.kind in ("renewal", "ceu") else "eligibility"
            detail = next((d for d in entry.details if d.id == wanted), None)
            lines += ["", f"About {entry.title}:", detail.answer if detail else entry.answer]
            sources = self.kb.cite(detail.sources if detail and detail.sources else entry.sources)
        buttons = [
            Button("Snooze 1 hour", f"rz:{notification.id}:60"),
            Button("Snooze 1 day", f"rz:{notification.id}:1440"),
            Button("Done", f"rn:{notification.id}"),
        ]
        return Reply("\n".join(lines), title="⏰ Reminder", sources=sources, buttons=buttons)


def _until(seconds: float) -> str:
    days = int(seconds // 86400)
    if days >= 2:
        return f"{days} days"
    hours = int(seconds // 3600)
    if hours >= 2:
        return f"{hours} hours"
    minutes = max(1, int(seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


__all__ = ["AlreadyDone", "DateError", "Notification", "Reminder", "ReminderError", "Reminders"]

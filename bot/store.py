"""The store: users' profiles, dialog state and context, handled updates, chart uploads, paces;
what each user has (export, forget); replies owed (:mod:`bot.outbox`) and what curators read
(:mod:`bot.curation`) as two parts of it.

The database under it is :mod:`bot.database` (SQLite, or PostgreSQL through :mod:`bot.pgstore`);
every write commits before the method returns, so a reply that says "saved" is only sent after
the data is on disk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.curation import CuratorLog
from bot.database import Database
from bot.dialogstate import DialogState
from bot.outbox import Outbox

REMINDER_FIELDS = ("title", "kind", "date", "time", "timezone", "repeat", "state")


@dataclass
class User:
    """What the store keeps about one user."""

    id: str
    profile: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    dialog: DialogState | None = None
    tz: str | None = None
    active: bool = True


class Store(Database):
    """The careerbot database's records (see the module's docstring)."""

    def __init__(
        self, path: Path | str, clock: Callable[[], float] = time.time, exclusive: bool = False
    ) -> None:
        """Open the database (see :class:`~bot.database.Database`) and its two parts."""
        super().__init__(path, clock, exclusive)
        self.outbox = Outbox(self)
        self.curation = CuratorLog(self)

    def user(self, user_id: str) -> User:
        """Load a user, or a fresh one if unknown (nothing is written until :meth:`save`).

        Inside a transaction on PostgreSQL the user is held until it ends, so another process
        handling the same user's next update waits: one user's updates, one at a time.
        """
        self.hold_user(user_id)
        row = self.db.execute(
            "SELECT profile, context, dialog, tz, active FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        if row is None:
            return User(user_id)
        profile, context, dialog, tz, active = row
        return User(
            user_id,
            json.loads(profile),
            json.loads(context),
            DialogState.load(dialog),
            tz,
            bool(active),
        )

    def save(self, user: User) -> None:
        """Write the user's state and commit."""
        self.execute(
            """INSERT INTO users (id, created, profile, context, dialog, tz, active)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET profile = excluded.profile,
                 context = excluded.context, dialog = excluded.dialog, tz = excluded.tz,
                 active = excluded.active""",
            (
                user.id,
                self.clock(),
                json.dumps(user.profile),
                json.dumps(user.context),
                json.dumps(user.dialog.model_dump()) if user.dialog is not None else None,
                user.tz,
                int(user.active),
            ),
        )

    def claim_update(self, update_id: int) -> bool:
        """Record a Telegram update as handled; False if it was handled before."""
        cursor = self.execute(
            "INSERT OR IGNORE INTO updates (id, at) VALUES (?, ?)", (update_id, self.clock())
        )
        return cursor.rowcount == 1

    def chart_file(self, bot: str, chart: str) -> str | None:
        """The file_id under which ``bot`` uploaded this chart version, if it did."""
        row = self.db.execute(
            "SELECT file_id FROM chart_files WHERE bot = ? AND chart = ?", (bot, chart)
        ).fetchone()
        return None if row is None else str(row[0])

    def remember_chart_file(self, bot: str, chart: str, file_id: str | None) -> None:
        """Keep (or, with None, forget) the file_id of an uploaded chart version."""
        if file_id is None:
            self.execute("DELETE FROM chart_files WHERE bot = ? AND chart = ?", (bot, chart))
            return
        self.execute(
            """INSERT INTO chart_files (bot, chart, file_id, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (bot, chart) DO UPDATE SET file_id = excluded.file_id,
                 at = excluded.at""",
            (bot, chart, file_id, self.clock()),
        )

    def prune_updates(self, older_than: float = 7 * 86400) -> None:
        """Forget handled update ids older than ``older_than`` seconds (Telegram keeps 24 h)."""
        self.execute("DELETE FROM updates WHERE at < ?", (self.clock() - older_than,))

    def set_active(self, user_id: str, active: bool) -> None:
        """Mark a user active or inactive (inactive: they blocked the bot)."""
        self.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about one user, as plain data."""
        user = self.user(user_id)
        return {
            "user": user.id,
            "profile": user.profile,
            "context": user.context,
            "dialog": user.dialog.model_dump() if user.dialog else None,
            "timezone": user.tz,
            "feedback": [
                {"entry": e, "helpful": bool(h)}
                for e, h in self.db.execute(
                    "SELECT entry, helpful FROM feedback WHERE user_id = ?", (user_id,)
                )
            ],
            "reminders": [
                dict(zip(REMINDER_FIELDS, row, strict=True))
                for row in self.db.execute(
                    """SELECT title, kind, local_date, local_time, tz, repeat, state
                       FROM reminders WHERE user_id = ? ORDER BY id""",
                    (user_id,),
                )
            ],
            "replies_not_yet_delivered": [
                json.loads(r)
                for (r,) in self.db.execute(
                    "SELECT replies FROM outbox WHERE user_id = ? ORDER BY id", (user_id,)
                )
            ],
            "unanswered_questions": [
                t
                for (t,) in self.db.execute(
                    """SELECT a.text FROM asked_by b JOIN asked a ON a.key = b.key
                       WHERE b.user_id = ? ORDER BY a.last""",
                    (user_id,),
                )
            ],
        }

    def expire_contexts(self, before: float) -> int:
        """Empty the conversation context of users quiet since ``before`` (UTC epoch): nothing of
        a conversation is kept for users who left. Returns how many were emptied.

        The JSON is read here rather than in SQL, so the statement is the same on every backend.
        """
        with self.transaction() as db:
            rows = db.execute("SELECT id, context FROM users WHERE context != '{}'").fetchall()
            stale = [(uid,) for uid, context in rows if _context_at(context) < before]
            for uid in stale:
                db.execute("UPDATE users SET context = '{}' WHERE id = ?", uid)
            return len(stale)

    def forget(self, user_id: str) -> None:
        """Delete everything stored about one user."""
        with self.transaction() as db:
            for table, column in (
                ("outbox", "user_id"),
                ("notifications", "user_id"),
                ("reminders", "user_id"),
                ("users", "id"),
                ("feedback", "user_id"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (user_id,))
            # their questions: uncounted, and gone unless someone else asked the same
            db.execute(
                """UPDATE asked SET count = count - (SELECT n FROM asked_by b
                   WHERE b.key = asked.key AND b.user_id = ?)
                   WHERE key IN (SELECT key FROM asked_by WHERE user_id = ?)""",
                (user_id, user_id),
            )
            db.execute("DELETE FROM asked_by WHERE user_id = ?", (user_id,))
            db.execute(
                "DELETE FROM asked WHERE count <= 0 OR key NOT IN (SELECT key FROM asked_by)"
            )

    def next_send_at(self, name: str, now: float, interval: float) -> float:
        """Reserve the next moment of the pace ``name``, shared by every process of this store:
        ``now``, or ``interval`` seconds after the moment reserved last if that is later.

        Run in the caller's transaction (a reminder's claim), the reservation is undone with it;
        on PostgreSQL the pace's row is locked until then, so replicas reserve one at a time.
        """
        row = self.execute(
            """INSERT INTO pacing (name, next_at) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET next_at = CASE WHEN pacing.next_at > ?
               THEN pacing.next_at ELSE ? END + ? RETURNING next_at""",
            (name, now + interval, now, now, interval),
        ).fetchone()
        return float(row[0]) - interval

    def data_version(self) -> int:
        """How many times the served data was reloaded, by any process of this store."""
        row = self.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0

    def bump_data_version(self) -> int:
        """Record a ``/reload`` for the other processes of this store; return the new version."""
        with self.transaction():
            row = self.execute(
                """INSERT INTO meta (key, value) VALUES ('data_version', '1')
                   ON CONFLICT (key) DO UPDATE
                   SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)
                   RETURNING value"""
            ).fetchone()
        return int(row[0])


def _context_at(stored: str) -> float:
    """When a stored context was last used (0 for one that does not read as a context)."""
    try:
        at = json.loads(stored).get("at", 0)
    except (ValueError, AttributeError):
        return 0.0
    return float(at) if isinstance(at, int | float) else 0.0

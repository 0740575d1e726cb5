"""The store: users' profiles, dialog state and context, feedback, unanswered questions.

``CAREERBOT_DB`` is a SQLite file (WAL mode; the default) or a ``postgresql://`` URL
(:mod:`bot.pgstore`, for several bot processes on one server); both run the same SQL and a
versioned schema migrated at open. Every write commits before the method returns, so a reply
that says "saved" is only sent after the data is on disk.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bot import migrations, pgstore
from bot.dialogstate import DialogState

MIGRATIONS = migrations.SQLITE  # the schema, version by version (bot.migrations)

# The unanswered-question log for /report is bounded: at most this many distinct questions
# (the least asked, then the oldest, make room), each linked to at most MAX_ASKERS users (a
# question beyond that is counted, not linked: it is no longer one person's words).
MAX_UNANSWERED = 1000
MAX_ASKERS = 10
# A write that fails is logged once; it is logged again only after writes have succeeded with
# no failure for this many seconds (a full disk lets some small writes through meanwhile).
RECOVERED_AFTER = 30.0

log = logging.getLogger(__name__)


REMINDER_FIELDS = ("title", "kind", "date", "time", "timezone", "repeat", "state")


OUTBOX_LEASE = 60.0  # seconds owed replies are held by the process that sends them

# what either backend raises when the database cannot be used
DB_ERRORS = (sqlite3.Error, psycopg.Error)


class StoreError(Exception):
    """The database cannot be used; the message is one line naming the file.

    A write failure has been logged by the store already (once per outage, see
    :data:`RECOVERED_AFTER`), so a handler need not log it again.
    """


@dataclass
class User:
    """What the store keeps about one user."""

    id: str
    profile: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    dialog: DialogState | None = None
    tz: str | None = None
    active: bool = True


class Store:
    """A connection to the careerbot database."""

    def __init__(
        self, path: Path | str, clock: Callable[[], float] = time.time, exclusive: bool = False
    ) -> None:
        """Open (creating if needed) and migrate the database at ``path`` (``:memory:`` works;
        a ``postgresql://`` URL opens a PostgreSQL database instead).

        With ``exclusive`` a SQLite store is this process's alone for as long as it is open
        (``run``): a second process asking the same raises :class:`StoreError` instead of sending
        the same reminders. The lock is the kernel's, so a killed process releases it. A
        PostgreSQL store is shared: the processes coordinate through row and advisory locks.
        """
        self.path = str(path)  # for messages: a URL's password is replaced below
        self.clock = clock
        self._lock: Any = None
        self._failing_since: float | None = None  # monotonic time of the first failed write
        self._last_failure = 0.0
        self.db: sqlite3.Connection | pgstore.PgConnection
        if pgstore.is_url(self.path):
            url, self.path = self.path, pgstore.safe_url(self.path)
            try:
                self.db = pgstore.PgConnection(url)
            except psycopg.Error as exc:
                reason = pgstore.hide_password(pgstore.first_line(exc), url)
                raise StoreError(f"{self.path}: cannot use the database ({reason})") from None
            return
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                if exclusive:
                    self._lock = self._hold(Path(self.path + ".lock"))
            self.db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (*DB_ERRORS, OSError) as exc:
            raise StoreError(f"{self.path}: cannot use the database ({exc})") from None

    def _migrate(self) -> None:
        assert isinstance(self.db, sqlite3.Connection)  # PostgreSQL migrates in bot.pgstore
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise sqlite3.DatabaseError(f"schema version {version} is newer than this careerbot")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    def _hold(self, lock_path: Path) -> Any:
        handle = lock_path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(
                f"{self.path}: another careerbot process is already serving this database "
                "(one SQLite file serves one `run`; use PostgreSQL for several)"
            ) from None
        return handle

    def close(self) -> None:
        """Close the connection (and release the process lock)."""
        self.db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection | pgstore.PgConnection]:
        """Group writes: all of them are committed together when the block ends, or none.

        Nested blocks join the outer one, so a caller can make several steps one commit. Any
        SQLite error in the block or at the commit comes out as :class:`StoreError`.
        """
        if self.db.in_transaction:
            yield self.db
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except DB_ERRORS as exc:
            raise self._failed("cannot write", exc) from None
        try:
            yield self.db
        except DB_ERRORS as exc:
            self._rollback()
            raise self._failed("write failed", exc) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.db.execute("COMMIT")
        except DB_ERRORS as exc:
            self._rollback()
            raise self._failed("commit failed", exc) from None
        self._succeeded()

    def _rollback(self) -> None:
        """Undo the open transaction, unless SQLite has already done so (after SQLITE_FULL,
        SQLITE_IOERR or SQLITE_NOMEM it rolls back by itself, and a ROLLBACK would then fail
        with "no transaction is active", hiding the real error). PostgreSQL's connection
        keeps a failed transaction open until its ROLLBACK, so there it is always run."""
        if not self.db.in_transaction:
            return
        try:
            self.db.execute("ROLLBACK")
        except DB_ERRORS as exc:  # the original error is the one worth raising
            log.warning("%s: rollback failed (%s)", self.path, exc)

    def _failed(self, what: str, exc: Exception) -> StoreError:
        """The error to raise for a failed write; logged once per outage, in one line."""
        full = (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or getattr(exc, "sqlstate", None) == "53100"  # PostgreSQL's disk_full
        )
        message = f"{self.path}: {'database full' if full else what} ({exc})"
        now = time.monotonic()
        self._last_failure = now
        if self._failing_since is None:
            self._failing_since = now
            if full:
                log.error(
                    "database full: %s cannot be written (%s); nothing that needs a write is "
                    "done or sent until there is space again",
                    self.path,
                    exc,
                )
            else:
                log.error("database error: %s: %s (%s)", self.path, what, exc)
        return StoreError(message)

    def _succeeded(self) -> None:
        """A write committed: after a quiet spell with no failure, the outage is over."""
        if self._failing_since is None:
            return
        if time.monotonic() - self._last_failure >= RECOVERED_AFTER:
            log.warning(
                "database %s: writes succeed again (failing for %.0f s)",
                self.path,
                self._last_failure - self._failing_since,
            )
            self._failing_since = None

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor | pgstore.PgCursor:
        """Run one statement; a failure is a :class:`StoreError` naming the file."""
        writes = not sql.lstrip().upper().startswith("SELECT")
        try:
            cursor = self.db.execute(sql, args)
        except DB_ERRORS as exc:
            raise self._failed(f"{'write' if writes else 'read'} failed", exc) from None
        if writes and not self.db.in_transaction:
            self._succeeded()
        return cursor

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        self.execute(sql, args)

    @property
    def shared(self) -> bool:
        """Whether several processes may serve this store at once (PostgreSQL)."""
        return isinstance(self.db, pgstore.PgConnection)

    def after_copy(self) -> None:
        """Rows were copied in with their ids (``migrate-store``): new ids start above them."""
        if isinstance(self.db, pgstore.PgConnection):
            self.db.reset_ids()

    def user(self, user_id: str) -> User:
        """Load a user, or a fresh one if unknown (nothing is written until :meth:`save`).

        Inside a transaction on PostgreSQL the user is held until it ends, so another process
        handling the same user's next update waits: one user's updates, one at a time.
        """
        if isinstance(self.db, pgstore.PgConnection):
            try:
                self.db.lock_user(user_id)
            except psycopg.Error as exc:
                raise StoreError(f"{self.path}: read failed ({exc})") from None
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
        self._write(
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

    def owe(self, user_id: str, chat_id: str, replies: str) -> int:
        """Record replies (JSON) owed to a chat, in the caller's transaction; returns its id."""
        cursor = self.execute(
            """INSERT INTO outbox (user_id, chat_id, replies, created, claimed_until)
               VALUES (?, ?, ?, ?, ?)""",
            (user_id, chat_id, replies, self.clock(), self.clock() + OUTBOX_LEASE),
        )
        return int(cursor.lastrowid or 0)

    def claim_owed(self, outbox_id: int) -> bool:
        """Take owed replies for sending again, unless another process holds them (its claim
        has not expired: it is sending them now, or was until ``OUTBOX_LEASE`` ago)."""
        now = self.clock()
        with self.transaction():
            taken = self.execute(
                """UPDATE outbox SET claimed_until = ? WHERE id = ?
                   AND (claimed_until IS NULL OR claimed_until < ?)""",
                (now + OUTBOX_LEASE, outbox_id, now),
            ).rowcount
        return taken == 1

    def owed(self, older_than: float = 0.0) -> list[tuple[int, str, str]]:
        """Replies still owed (id, chat id, JSON), oldest first; only those at least
        ``older_than`` seconds old."""
        rows = self.db.execute(
            "SELECT id, chat_id, replies FROM outbox WHERE created <= ? ORDER BY id",
            (self.clock() - older_than,),
        ).fetchall()
        return [(int(i), str(chat), str(replies)) for i, chat, replies in rows]

    def settle(self, outbox_ids: list[int]) -> None:
        """Forget owed replies that Telegram has accepted."""
        if outbox_ids:
            with self.transaction() as db:
                db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in outbox_ids])

    def still_owe(self, outbox_id: int, replies: str) -> None:
        """Keep only the part of an owed turn that has not been sent yet."""
        with self.transaction() as db:
            db.execute("UPDATE outbox SET replies = ? WHERE id = ?", (replies, outbox_id))

    def chart_file(self, bot: str, chart: str) -> str | None:
        """The file_id under which ``bot`` uploaded this chart version, if it did."""
        row = self.db.execute(
            "SELECT file_id FROM chart_files WHERE bot = ? AND chart = ?", (bot, chart)
        ).fetchone()
        return None if row is None else str(row[0])

    def remember_chart_file(self, bot: str, chart: str, file_id: str | None) -> None:
        """Keep (or, with None, forget) the file_id of an uploaded chart version."""
        if file_id is None:
            self._write("DELETE FROM chart_files WHERE bot = ? AND chart = ?", (bot, chart))
            return
        self._write(
            """INSERT INTO chart_files (bot, chart, file_id, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (bot, chart) DO UPDATE SET file_id = excluded.file_id,
                 at = excluded.at""",
            (bot, chart, file_id, self.clock()),
        )

    def prune_updates(self, older_than: float = 7 * 86400) -> None:
        """Forget handled update ids older than ``older_than`` seconds (Telegram keeps 24 h)."""
        self._write("DELETE FROM updates WHERE at < ?", (self.clock() - older_than,))

    def set_active(self, user_id: str, active: bool) -> None:
        """Mark a user active or inactive (inactive: they blocked the bot)."""
        self._write("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))

    def record_unanswered(self, user_id: str, text: str, outcome: str) -> None:
        """Count a question the bot could not answer with confidence, for curators (/report).

        Identical questions (ignoring case) share one row with a count; at most
        :data:`MAX_UNANSWERED` rows are kept (a new question replaces the least asked, oldest).
        """
        text, now = text[:500], self.clock()
        with self.transaction() as db:
            grouped = db.execute(
                """UPDATE asked SET count = count + 1, text = ?, outcome = ?, last = ?
                   WHERE key = lower(?)""",
                (text, outcome, now, text),
            ).rowcount
            if not grouped:
                # counted here, not in LIMIT: SQLite's max(0, n) is not PostgreSQL's
                excess = db.execute("SELECT count(*) FROM asked").fetchone()[0] - (
                    MAX_UNANSWERED - 1
                )
                if excess > 0:
                    db.execute(
                        """DELETE FROM asked WHERE key IN (SELECT key FROM asked
                           ORDER BY count, last LIMIT ?)""",
                        (excess,),
                    )
                db.execute(
                    """INSERT INTO asked (key, text, outcome, count, last)
                       VALUES (lower(?), ?, ?, 1, ?)""",
                    (text, text, outcome, now),
                )
            linked = db.execute(
                "UPDATE asked_by SET n = n + 1 WHERE key = lower(?) AND user_id = ?",
                (text, user_id),
            ).rowcount
            if not linked:
                db.execute(
                    """INSERT INTO asked_by (key, user_id, n) SELECT lower(?), ?, 1
                       WHERE (SELECT count(*) FROM asked_by WHERE key = lower(?)) < ?""",
                    (text, user_id, text, MAX_ASKERS),
                )

    def record_feedback(self, user_id: str, entry: str, helpful: bool) -> None:
        """Remember whether an answer helped (one vote per user and entry; the last one counts)."""
        self._write(
            """INSERT INTO feedback (user_id, entry, helpful, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id, entry) DO UPDATE SET helpful = excluded.helpful,
               at = excluded.at""",
            (user_id, entry, int(helpful), self.clock()),
        )

    def top_unanswered(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent questions the bot could not answer (lowercased, as grouped), with
        their counts."""
        rows = self.db.execute(
            "SELECT key, count FROM asked ORDER BY count DESC, last DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(str(text), int(n)) for text, n in rows]

    def unhelpful(self, limit: int = 10) -> list[tuple[str, int]]:
        """Entries most often marked not helpful, with their counts."""
        rows = self.db.execute(
            """SELECT entry, count(*) AS n FROM feedback WHERE helpful = 0 GROUP BY entry
               ORDER BY n DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        return [(str(entry), int(n)) for entry, n in rows]

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

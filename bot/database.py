"""The connection under the store: a SQLite file (WAL mode; the default) or a ``postgresql://``
URL (:mod:`bot.pgstore`), opened and migrated at start, with transactions and one error type.

Every database error comes out as :class:`StoreError`, one line naming the file; a failed
write is logged once per outage (see :data:`RECOVERED_AFTER`).
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bot import migrations, pgstore

MIGRATIONS = migrations.SQLITE  # the schema, version by version (bot.migrations)

# A write that fails is logged once; it is logged again only after writes have succeeded with
# no failure for this many seconds (a full disk lets some small writes through meanwhile).
RECOVERED_AFTER = 30.0

# what either backend raises when the database cannot be used
DB_ERRORS = (sqlite3.Error, psycopg.Error)

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used; the message is one line naming the file.

    A write failure has been logged by the store already (once per outage, see
    :data:`RECOVERED_AFTER`), so a handler need not log it again.
    """


class Database:
    """A connection to the careerbot database: opening and migrating it, transactions, and
    every database error mapped to :class:`StoreError` (logged once per outage)."""

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
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            _migrate(db)  # PostgreSQL migrates in bot.pgstore
            self.db = db
        except (*DB_ERRORS, OSError) as exc:
            raise StoreError(f"{self.path}: cannot use the database ({exc})") from None

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

    @property
    def shared(self) -> bool:
        """Whether several processes may serve this store at once (PostgreSQL)."""
        return isinstance(self.db, pgstore.PgConnection)

    def after_copy(self) -> None:
        """Rows were copied in with their ids (``migrate-store``): new ids start above them."""
        if isinstance(self.db, pgstore.PgConnection):
            self.db.reset_ids()

    def hold_user(self, user_id: str) -> None:
        """On PostgreSQL, inside a transaction: hold the user until it ends, so another process
        handling the same user's next update waits (one user's updates, one at a time)."""
        if isinstance(self.db, pgstore.PgConnection):
            try:
                self.db.lock_user(user_id)
            except psycopg.Error as exc:
                raise StoreError(f"{self.path}: read failed ({exc})") from None


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a SQLite database's schema up to the newest version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this careerbot")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

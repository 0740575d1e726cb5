"""PostgreSQL under the store (``CAREERBOT_DB=postgresql://...``), shared by several bot processes.

:class:`PgConnection` gives the store the small part of :mod:`sqlite3`'s connection API it uses
(``execute``, ``executemany``, ``in_transaction``, ``close``; ``BEGIN``/``COMMIT``/``ROLLBACK``
as statements), so the store and the reminders keep one set of SQL for both backends. The SQL
is written for SQLite and translated here, statement by statement: ``?`` placeholders become
psycopg's, ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING``, and an insert into a table
with a generated ``id`` returns it as ``lastrowid``.

Connections come from a psycopg pool: a transaction holds one from ``BEGIN`` to its end, a
statement outside a transaction borrows one. A connection the server dropped is replaced at the
next checkout, so the bot carries on by itself once the server is back.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot import migrations

URL_SCHEMES = ("postgresql://", "postgres://")
# tables whose rows get a generated id the callers want back (``cursor.lastrowid``)
GENERATED_IDS = frozenset({"reminders", "notifications", "outbox"})
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_PASSWORD = re.compile(r"^[a-z]+://[^/@:]*:([^@/]+)@", re.IGNORECASE)  # scheme://user:password@
_SCHEMA_LOCK = 4_207_194  # an advisory lock id: replicas starting together migrate one by one

MIGRATIONS = migrations.POSTGRES  # bot.migrations, in PostgreSQL's types


def is_url(location: str) -> bool:
    """Whether ``CAREERBOT_DB`` names a PostgreSQL server rather than a SQLite file."""
    return location.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:  # not even a URL (a bad port): say nothing of what it held
        return url.split("://", 1)[0] + "://(unreadable URL)"


def hide_password(text: str, url: str) -> str:
    """``text`` (an error message) with the password of ``url`` masked, should it appear."""
    text = text.replace(url, safe_url(url))  # libpq quotes a URL it cannot parse whole
    try:
        password = urlsplit(url).password
    except ValueError:  # a URL urllib cannot read (a bad host): the password as libpq reads it
        found = _PASSWORD.match(url)
        password = found.group(1) if found else None
    return text.replace(password, "***") if password else text


def translate(sql: str) -> tuple[str, bool]:
    """SQLite's SQL as PostgreSQL's; also whether the statement should return the new id."""
    if sql.lstrip().upper().startswith("BEGIN"):
        return "BEGIN", False  # BEGIN IMMEDIATE: row and advisory locks do that job here
    out = sql.replace("%", "%%").replace("?", "%s")
    wants_id = False
    insert = _INSERT.match(out)
    if insert:
        if insert.group(1):
            out = _INSERT.sub(lambda m: f"INSERT INTO {m.group(2)}", out, count=1)
            out = out.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        if insert.group(2).lower() in GENERATED_IDS and "RETURNING" not in out.upper():
            out, wants_id = out.rstrip().rstrip(";") + " RETURNING id", True
    return out, wants_id


class PgCursor:
    """A finished statement's result, read like a :class:`sqlite3.Cursor`."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None) -> None:
        """Keep the rows (all fetched: the connection goes back to the pool at once)."""
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:  # as sqlite3's: callers index it directly
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The remaining rows."""
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Iterate the remaining rows."""
        return iter(self.fetchall())


class PgConnection:
    """The store's connection to a PostgreSQL server (see the module's docstring)."""

    def __init__(
        self, url: str, *, max_size: int = 4, timeout: float = 10.0, wait: float = 3.0
    ) -> None:
        """Connect to ``url`` (at least once, within ``timeout`` seconds) and migrate.

        Later, a statement waits at most ``wait`` seconds for a connection (the server is away:
        the caller gets the error, the user the apology, and the next statement tries again).

        Raises :class:`psycopg.Error` (or :class:`PoolTimeout`) when the server cannot be used.
        """
        self.url = url
        self._tx: psycopg.Connection[Any] | None = None
        self.wait = wait
        # after a failure to get a connection, callers fail at once for this long instead of
        # each waiting ``wait`` seconds: the bot's event loop is not held while the server is away
        self.pause = 2 * wait
        self._down_until = 0.0
        # one connection of our own first: a server that cannot be used is one clear error,
        # not the pool's retries and warnings
        try:
            psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
        except psycopg.Error as exc:
            raise psycopg.OperationalError(hide_password(first_line(exc), url)) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            timeout=timeout,
            kwargs={
                "autocommit": True,
                "cursor_factory": psycopg.ClientCursor,  # values bound as SQLite would
                "connect_timeout": max(1, int(timeout)),
                "application_name": "careerbot",
            },
            check=ConnectionPool.check_connection,  # a dropped connection is replaced
            reconnect_timeout=0,  # keep trying while the server is away; never give up
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            self.pool.close()
            raise
        try:
            self._migrate()
        except BaseException:
            self.pool.close()
            raise

    def _migrate(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            if version > len(MIGRATIONS):
                raise psycopg.DatabaseError(
                    f"schema version {version} is newer than this careerbot"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                conn.execute(script.encode())  # bytes: several statements, no placeholders
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [number])

    @property
    def schema_version(self) -> int:
        """The migration the database is at."""
        row = self.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @property
    def in_transaction(self) -> bool:
        """Whether a ``BEGIN`` is open on this connection (as :mod:`sqlite3` says it)."""
        return self._tx is not None

    def execute(self, sql: str, args: Sequence[Any] = ()) -> PgCursor:
        """Run one statement (SQLite's SQL); ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` included."""
        word = sql.strip().split(None, 1)[0].upper() if sql.strip() else ""
        if word == "BEGIN":
            return self._begin()
        if word in ("COMMIT", "ROLLBACK"):
            return self._end(word)
        query, wants_id = translate(sql)
        if self._tx is not None:
            return self._run(self._tx, query, args, wants_id)
        with self._checkout() as conn:
            return self._run(conn, query, args, wants_id)

    @contextmanager
    def _checkout(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; while the server is known to be away, an error at once."""
        if time.monotonic() < self._down_until:
            raise psycopg.OperationalError("the database server is unavailable; retrying")
        try:
            with self.pool.connection(timeout=self.wait) as conn:
                yield conn
        except psycopg.OperationalError:
            if self.pool.get_stats().get("pool_available", 0) == 0:
                self._down_until = time.monotonic() + self.pause
            raise

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        """Run one statement for each set of arguments."""
        total = 0
        for args in seq:
            total += max(self.execute(sql, args).rowcount, 0)
        return PgCursor([], total, None)

    def lock_user(self, user_id: str) -> None:
        """Hold the user for the rest of the transaction: another process handling the same
        user waits, so one user's updates are handled one at a time across replicas."""
        if self._tx is not None:
            self._tx.execute("SELECT pg_advisory_xact_lock(1, hashtext(%s))", [user_id])

    @staticmethod
    def _run(
        conn: psycopg.Connection[Any], query: str, args: Sequence[Any], wants_id: bool
    ) -> PgCursor:
        cur = conn.execute(query, list(args))  # always bound: the %% escapes are undone
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        lastrowid = int(rows[0][0]) if wants_id and rows else None
        return PgCursor([] if wants_id else rows, cur.rowcount, lastrowid)

    def _begin(self) -> PgCursor:
        if self._tx is not None:
            raise psycopg.ProgrammingError("a transaction is already open")
        if time.monotonic() < self._down_until:
            raise psycopg.OperationalError("the database server is unavailable; retrying")
        try:
            conn = self.pool.getconn(timeout=self.wait)
        except psycopg.OperationalError:
            self._down_until = time.monotonic() + self.pause
            raise
        try:
            conn.execute("BEGIN")
        except BaseException:
            self.pool.putconn(conn)
            if isinstance(sys.exc_info()[1], psycopg.OperationalError):
                self._down_until = time.monotonic() + self.pause
            raise
        self._tx = conn
        return PgCursor([], -1, None)

    def _end(self, word: str) -> PgCursor:
        conn, self._tx = self._tx, None
        if conn is None:
            return PgCursor([], -1, None)
        try:
            conn.execute(word)
        except psycopg.OperationalError:
            if word == "COMMIT":
                raise
            # a rollback on a connection the server dropped: nothing is left to undo
        finally:
            self.pool.putconn(conn)  # a broken one is discarded by the pool
        return PgCursor([], -1, None)

    def reset_ids(self) -> None:
        """After rows were copied in with their ids: new rows get ids above them."""
        for table in sorted(GENERATED_IDS):
            self.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )

    def close(self) -> None:
        """Close every pooled connection (an open transaction is rolled back)."""
        if self._tx is not None:
            self._end("ROLLBACK")
        self.pool.close()


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (psycopg's run over several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

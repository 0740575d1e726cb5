"""``careerbot migrate-store FROM TO``: copy every row from one store to another.

Typically from the SQLite file to a new PostgreSQL database (or back). Both stores are opened
(so both are migrated to this careerbot's schema first); the target must hold no data, and
everything is copied in one transaction, ids included, so reminders, their notifications and
the replies still owed carry over exactly. Stop the bot first: rows written meanwhile would
not be copied.
"""

from __future__ import annotations

import sys

from bot.database import StoreError
from bot.store import Store

# parents before children (notifications refer to reminders, asked_by to asked)
TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id", "created", "profile", "context", "dialog", "tz", "active"),
    "feedback": ("user_id", "entry", "helpful", "at"),
    "asked": ("key", "text", "outcome", "count", "last"),
    "asked_by": ("key", "user_id", "n"),
    "reminders": (
        "id", "user_id", "title", "kind", "entry", "local_date", "local_time", "tz", "leads",
        "repeat", "state", "created", "first_date",
    ),
    "notifications": (
        "id", "reminder_id", "user_id", "occurrence", "lead", "fire_at", "state", "sent_at",
        "claimed_until",
    ),
    "updates": ("id", "at"),
    "outbox": ("id", "user_id", "chat_id", "replies", "created", "claimed_until"),
    "meta": ("key", "value"),
}  # fmt: skip


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Copy all rows of ``source`` into the empty ``target``; return the count per table.

    Raises :class:`StoreError` if the target already holds data (nothing is copied then).
    """
    counts: dict[str, int] = {}
    with target.transaction():
        for table in TABLES:
            if target.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                raise StoreError(
                    f"{target.path}: already holds data (table {table}); "
                    "migrate-store copies into an empty store only"
                )
        for table, columns in TABLES.items():
            names = ", ".join(columns)
            rows = source.execute(f"SELECT {names} FROM {table}").fetchall()
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for row in rows:
                target.execute(insert, tuple(row))
            counts[table] = len(rows)
        target.after_copy()
    return counts


def migrate_store_command(source: str, target: str) -> int:
    """Copy the store at ``source`` into the one at ``target``; print what was copied."""
    if source == target:
        print("careerbot: migrate-store needs two different stores", file=sys.stderr)
        return 2
    src = Store(source)
    try:
        dst = Store(target)
        try:
            counts = copy_store(src, dst)
        finally:
            dst.close()
    finally:
        src.close()
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    print(f"copied {summary} from {src.path} to {dst.path}")
    return 0

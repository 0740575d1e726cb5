"""Replies owed to chats (the ``outbox`` table): recorded in the transaction of the turn that
made them, claimed by the process that sends them, forgotten once Telegram has them.
"""

from __future__ import annotations

from bot.database import Database

OUTBOX_LEASE = 60.0  # seconds owed replies are held by the process that sends them


class Outbox:
    """The store's owed replies."""

    def __init__(self, database: Database) -> None:
        """Keep to the tables of ``database``."""
        self.database = database

    def owe(self, user_id: str, chat_id: str, replies: str) -> int:
        """Record replies (JSON) owed to a chat, in the caller's transaction; returns its id."""
        now = self.database.clock()
        cursor = self.database.execute(
            """INSERT INTO outbox (user_id, chat_id, replies, created, claimed_until)
               VALUES (?, ?, ?, ?, ?)""",
            (user_id, chat_id, replies, now, now + OUTBOX_LEASE),
        )
        return int(cursor.lastrowid or 0)

    def claim_owed(self, outbox_id: int) -> bool:
        """Take owed replies for sending again, unless another process holds them (its claim
        has not expired: it is sending them now, or was until ``OUTBOX_LEASE`` ago)."""
        now = self.database.clock()
        with self.database.transaction():
            taken = self.database.execute(
                """UPDATE outbox SET claimed_until = ? WHERE id = ?
                   AND (claimed_until IS NULL OR claimed_until < ?)""",
                (now + OUTBOX_LEASE, outbox_id, now),
            ).rowcount
        return taken == 1

    def owed(self, older_than: float = 0.0) -> list[tuple[int, str, str]]:
        """Replies still owed (id, chat id, JSON), oldest first; only those at least
        ``older_than`` seconds old."""
        rows = self.database.db.execute(
            "SELECT id, chat_id, replies FROM outbox WHERE created <= ? ORDER BY id",
            (self.database.clock() - older_than,),
        ).fetchall()
        return [(int(i), str(chat), str(replies)) for i, chat, replies in rows]

    def settle(self, outbox_ids: list[int]) -> None:
        """Forget owed replies that Telegram has accepted."""
        if outbox_ids:
            with self.database.transaction() as db:
                db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in outbox_ids])

    def still_owe(self, outbox_id: int, replies: str) -> None:
        """Keep only the part of an owed turn that has not been sent yet."""
        with self.database.transaction() as db:
            db.execute("UPDATE outbox SET replies = ? WHERE id = ?", (replies, outbox_id))

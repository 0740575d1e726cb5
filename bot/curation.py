"""What curators read (``/report``): questions the bot could not answer, and answers marked
not helpful.
"""

from __future__ import annotations

from bot.database import Database

# The unanswered-question log for /report is bounded: at most this many distinct questions
# (the least asked, then the oldest, make room), each linked to at most MAX_ASKERS users (a
# question beyond that is counted, not linked: it is no longer one person's words).
MAX_UNANSWERED = 1000
MAX_ASKERS = 10


class CuratorLog:
    """The store's log of unanswered questions and feedback."""

    def __init__(self, database: Database) -> None:
        """Keep to the tables of ``database``."""
        self.database = database

    def record_unanswered(self, user_id: str, text: str, outcome: str) -> None:
        """Count a question the bot could not answer with confidence, for curators (/report).

        Identical questions (ignoring case) share one row with a count; at most
        :data:`MAX_UNANSWERED` rows are kept (a new question replaces the least asked, oldest).
        """
        text, now = text[:500], self.database.clock()
        with self.database.transaction() as db:
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
        self.database.execute(
            """INSERT INTO feedback (user_id, entry, helpful, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id, entry) DO UPDATE SET helpful = excluded.helpful,
               at = excluded.at""",
            (user_id, entry, int(helpful), self.database.clock()),
        )

    def top_unanswered(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent questions the bot could not answer (lowercased, as grouped), with
        their counts."""
        rows = self.database.db.execute(
            "SELECT key, count FROM asked ORDER BY count DESC, last DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(str(text), int(n)) for text, n in rows]

    def unhelpful(self, limit: int = 10) -> list[tuple[str, int]]:
        """Entries most often marked not helpful, with their counts."""
        rows = self.database.db.execute(
            """SELECT entry, count(*) AS n FROM feedback WHERE helpful = 0 GROUP BY entry
               ORDER BY n DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        return [(str(entry), int(n)) for entry, n in rows]

"""python-telegram-bot's Application without its one unbounded store (for a bot without
persistence).

PTB 22 marks the chat and user of every processed update (and the chat/user of every job) in
``Application._chat_ids_to_be_updated_in_persistence`` and ``_user_ids_...``; only
``update_persistence`` empties those sets, and it returns early when no ``persistence`` is set,
so they keep one id per chat and per user ever seen (measured in bench/README.md,
"users_soak.py"). This bot keeps its state in its own store and sets no persistence, so nothing
needs marking.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, Job


class NoPersistenceApplication(Application):  # type: ignore[type-arg]
    """An Application that marks chats and users for persistence only when it has one."""

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)

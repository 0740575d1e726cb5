"""Updates processed concurrently across users, each user's own in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserOrder(BaseUpdateProcessor):
    """Processes updates concurrently, but each user's updates one at a time, in order.

    An update waits for its user's earlier ones *before* it takes one of the concurrency slots,
    so one user's backlog holds a single slot and never delays everyone else. The base class
    takes its own slot before ``do_process_update`` runs, which is the wrong order, so it is
    given no limit and the slots are a semaphore taken here, after the user's lock.
    """

    def __init__(
        self, max_concurrent_updates: int, done: Callable[[object], None] | None = None
    ) -> None:
        """Allow up to ``max_concurrent_updates`` users' updates at once; ``done`` is told of
        each update once it has been processed (the webhook's acknowledgement waits for it)."""
        super().__init__(2**31 - 1)
        self._done = done
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this user's earlier updates, then for a free slot, then process this one."""
        key = _owner(update)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
            if self._done is not None:
                self._done(update)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _owner(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user:
            return update.effective_user.id
        if update.effective_chat:
            return update.effective_chat.id
    return 0

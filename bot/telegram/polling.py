"""The bot object: python-telegram-bot's ``ExtBot``, with a ``getUpdates`` one update cannot stop.

python-telegram-bot parses a ``getUpdates`` batch as a whole; one update it cannot read (a poll
from an older Bot API server that omits the newest fields, say) fails the batch, and its polling
loop asks again at the same offset at once, forever: the bot answers nobody and floods the log.
Here each update is parsed on its own. One that cannot be read is asked for again a few times
(``SKIP_AFTER``, with a short back-off), then skipped: it is replaced by a bare ``Update`` with
its id, which no handler takes, so the offset moves past it. Its id is logged once, at WARNING.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import TelegramError
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

SKIP_AFTER = 3  # reads of one unreadable update before it is skipped
READ_BACKOFF = 0.5  # seconds; the n-th failed read waits n times this before asking again


class TolerantBot(ExtBot[None]):
    """``ExtBot`` whose ``get_updates`` skips an update it cannot read instead of stalling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As ``ExtBot``; also counts the failed reads of each unreadable update."""
        super().__init__(*args, **kwargs)
        self._failed_reads: dict[int, int] = {}

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (python-telegram-bot's signature)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """Receive updates by long polling (python-telegram-bot's call), one at a time parsed."""
        data: JSONDict = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        base = read_timeout if isinstance(read_timeout, int | float) else None
        if base is None:
            base = self._request[0].read_timeout or 0
        wait = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else (timeout or 0)
        result = await self._post(
            "getUpdates",
            data,
            read_timeout=base + wait,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        return await self._read(result if isinstance(result, list) else [])

    async def _read(self, batch: list[JSONDict]) -> tuple[Update, ...]:
        """The batch as ``Update`` objects, up to the first one that cannot be read yet."""
        updates: list[Update] = []
        for raw in batch:
            try:
                updates.append(Update.de_json(raw, self))
                continue
            except TelegramError:
                raise
            except Exception as exc:  # any parse failure: a missing field, a wrong type
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int):
                    raise
                failed = self._failed_reads[update_id] = self._failed_reads.get(update_id, 0) + 1
                if failed < SKIP_AFTER:
                    await asyncio.sleep(READ_BACKOFF * failed)
                    break  # hand over the ones before it; ask for it again
                del self._failed_reads[update_id]
                reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                log.warning("skipped update %d: it cannot be read (%s)", update_id, reason)
                updates.append(Update(update_id))  # no handler takes it; the offset moves on
        return tuple(updates)

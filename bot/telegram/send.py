"""The one send policy: every request the bot makes to the Bot API is retried here, and only here.

:func:`with_retries` tries one request until it goes through or the policy gives up:

- a flood limit (429, ``RetryAfter``): wait the time Telegram names and try again, up to
  ``FLOOD_WAITS`` times; with the rate limiter on (:class:`Pacing`) every other request waits
  that long too, as Telegram wants. A flood wait is not a failure of the request, so it does not
  use up the tries below;
- nothing was sent (no free or no new connection, ``NotSent``) or another network error (5xx, a
  dropped connection): back off 0.4, 0.8, 1.6 s and try again, ``SEND_ATTEMPTS`` tries in all;
- a timeout after the request left (``TimedOut``) is never repeated: Telegram may have it;
- blocked (403, ``Forbidden``) and rejected (400, ``BadRequest``) are not retried: the same
  request again cannot help.

What is left is the caller's choice. A chat reply (:func:`send_text`) whose send timed out is
dropped (a duplicate answer is worse than one the user can ask for again); the outbox resends one
that failed (``outbox``). A reminder is given back to the store and tried again later, after
``retry_delay`` (``delivery``): delivery is at-least-once. The rate limiter only paces; it never
retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

from bot.config import redact
from bot.database import DB_ERRORS, StoreError
from bot.store import Store
from bot.telegram.context import BotContext
from bot.telegram.http import NotSent

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4  # tries of one request against network failures
FLOOD_WAITS = 3  # flood limits waited out for one request, besides those tries
BACKOFF = 0.2  # seconds; the n-th retry after a network error waits BACKOFF * 2**n
RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0, 300.0)  # a reminder's later tries, then every 5 minutes

MESSAGES_PACE = "messages"  # the pace every message of every process keeps (shared_pace)

T = TypeVar("T")


async def with_retries(request: Callable[[], Awaitable[T]]) -> T:
    """Run ``request`` (one Bot API call) under the send policy; raise its last failure."""
    failures = floods = 0
    while True:
        try:
            return await request()
        except RetryAfter as exc:
            floods += 1
            if floods > FLOOD_WAITS:
                raise
            wait = seconds(exc.retry_after)
            log.warning("flood limit: waiting %.1f s before resending", wait)
            await asyncio.sleep(wait)
        except NotSent:  # nothing reached Telegram: sending again cannot duplicate it
            failures += 1
            if failures >= SEND_ATTEMPTS:
                raise
            await asyncio.sleep(BACKOFF * 2**failures)
        except (TimedOut, BadRequest):  # may have arrived / cannot help: never repeated
            raise
        except NetworkError as exc:
            failures += 1
            if failures >= SEND_ATTEMPTS:
                raise
            log.warning("send failed (%s); retry %d", redact(str(exc)), failures)
            await asyncio.sleep(BACKOFF * 2**failures)


async def send_text(
    context: BotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send one HTML message under the send policy; None when it may not have arrived.

    A chat that blocked the bot marks its user inactive; a timed-out send is not repeated.
    """
    try:
        return await with_retries(
            lambda: context.bot.send_message(chat_id, text, reply_markup=markup)
        )
    except Forbidden:
        log.info("chat %s blocked the bot; marking inactive", chat_id)
        context.services.engine.store.set_active(str(chat_id), False)
    except TimedOut as exc:
        if isinstance(exc, NotSent):
            raise
        log.warning("send to chat %s timed out; not repeating it", chat_id)
    return None


def chat_gone(error: Exception) -> bool:
    """Whether a failed send means the chat cannot be reached at all: the user blocked the bot
    (403) or the chat no longer exists (400 "chat not found": a deleted account)."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and "chat not found" in str(error).lower()


def retry_delay(error: Exception, attempt: int) -> float:
    """Seconds before a reminder whose send failed ``attempt`` times is tried again."""
    if isinstance(error, RetryAfter):
        return seconds(error.retry_after)
    if isinstance(error, BadRequest):
        return RETRY_DELAYS[-1]
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]


def seconds(value: object) -> float:
    """Seconds in a ``RetryAfter.retry_after`` (a timedelta, or an int in older versions)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


def shared_pace(store: Store, rate: float) -> Callable[[], float] | None:
    """On a store several processes share, a clock that reserves the next moment a message may
    go, one every ``1 / rate`` seconds for all the processes together; None on SQLite.

    The token's limit holds for the bot, not for each replica: without this, two replicas would
    each send ``rate`` a second. While the store cannot be used each process keeps only its own
    limit (the message goes now), since a reply must not wait for the database."""
    if not store.shared or rate <= 0:
        return None

    def next_moment() -> float:
        now = time.time()
        try:
            with store.transaction():
                return store.next_send_at(MESSAGES_PACE, now, 1.0 / rate)
        except (StoreError, *DB_ERRORS):
            return now

    return next_moment


MOMENT_TRIES = 4  # moments of the shared pace a request may miss before it goes regardless


class Pacing(AIORateLimiter):
    """python-telegram-bot's rate limiter (overall and per-group limits), without its retries.

    A flood limit holds every request for the time Telegram names and is then raised to
    :func:`with_retries`, which does the retrying. (It uses the parent's pacing step,
    ``_run_request``, and its hold, ``_retry_after_event``: python-telegram-bot is pinned to 22.)
    With ``shared`` (:func:`shared_pace`) a request to a chat first waits for its moment in the
    pace of every process of the store.
    """

    def __init__(self, overall_max_rate: float, shared: Callable[[], float] | None = None) -> None:
        """Allow ``overall_max_rate`` messages a second overall, Telegram's group limit."""
        # One request per 1/rate seconds rather than ``rate`` per second: aiolimiter's bucket of
        # ``rate`` would let a whole second's worth through at once on top of the steady rate,
        # so a burst could put twice the cap into one second.
        super().__init__(overall_max_rate=1, overall_time_period=1 / overall_max_rate)
        self._interval = 1 / overall_max_rate
        self._shared = shared
        self._release: asyncio.TimerHandle | None = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Pace one request; on a flood limit hold all requests for its wait, and raise it."""
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group = (
            chat_id
            if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
            else False
        )
        if chat_id is not None and self._shared is not None:
            await self._wait_for_moment(self._shared)
        try:
            return await self._run_request(
                chat=chat_id is not None,
                group=group,
                allow_paid_broadcast=bool(data.get("allow_paid_broadcast", False)),
                callback=callback,
                args=args,
                kwargs=kwargs,
            )
        except RetryAfter as exc:
            self._hold(seconds(exc.retry_after) + 0.1)
            raise

    async def _wait_for_moment(self, shared: Callable[[], float]) -> None:
        """Wait for this request's moment in the pace shared by the processes of the store.

        A moment missed by more than half an interval (the process was busy when it came) is
        given up for a later one: sent late, the message would land beside the moments after
        it and put more than the rate into one second. After ``MOMENT_TRIES`` it goes anyway.
        """
        for _ in range(MOMENT_TRIES):
            moment = shared()
            wait = moment - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if time.time() - moment <= self._interval / 2:
                return

    def _hold(self, wait: float) -> None:
        """Hold every request for ``wait`` seconds (a later flood limit extends the hold)."""
        if self._release is not None:
            self._release.cancel()
        self._retry_after_event.clear()
        self._release = asyncio.get_running_loop().call_later(wait, self._retry_after_event.set)

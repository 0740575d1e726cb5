"""Webhook mode: an update acknowledged only once handled; bounded bodies, one log line for a
request that is not an update."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

MAX_WEBHOOK_BODY = 1_000_000  # bytes; Telegram's updates are a few KB
ACK_WAIT = 50.0  # seconds a webhook request waits for its update to be handled, at most

log = logging.getLogger(__name__)


class HandledQueue(asyncio.Queue[object]):
    """The update queue in webhook mode: Telegram gets its 200 once the update was handled.

    python-telegram-bot answers a webhook request as soon as the update is queued. Then a
    process killed before handling it loses it (Telegram does not resend what was acknowledged),
    and a user's next message, posted right after the 200, can reach another replica and be
    handled first. Here ``put``, which the webhook's request handler awaits, returns only when
    the update processor reports the update handled (:meth:`handled`: its turn committed and its
    replies sent, or the apology), or after ``ACK_WAIT`` seconds. A request broken off before
    that (the process died) is resent by Telegram, and the update id claimed in the turn's
    commit makes a resent update that was handled after all a no-op.
    """

    def __init__(self) -> None:
        """An empty queue."""
        super().__init__()
        self._waiting: dict[int, asyncio.Future[None]] = {}

    async def put(self, item: object) -> None:
        """Queue ``item``; for an update, return once it has been handled."""
        if not isinstance(item, Update):  # the application's own signals
            await super().put(item)
            return
        done = asyncio.get_running_loop().create_future()
        self._waiting[id(item)] = done
        try:
            await super().put(item)
            await asyncio.wait_for(done, ACK_WAIT)
        except TimeoutError:
            log.warning(
                "update %s not handled within %.0f s; acknowledged", item.update_id, ACK_WAIT
            )
        finally:
            self._waiting.pop(id(item), None)

    def handled(self, item: object) -> None:
        """The update processor is done with ``item``: its webhook request may be answered."""
        done = self._waiting.get(id(item))
        if done is not None and not done.done():
            done.set_result(None)


class _QuietWebhookErrors(logging.Filter):
    """A request that is not a valid update: one line, never its body or a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "webhook: dropped a request that is not a valid update", None
            record.exc_info, record.exc_text = None, None
        return True


def limit_webhook_requests() -> None:
    """Bound the webhook's request bodies and quiet its malformed-request log."""
    from tornado.httpserver import HTTPServer  # python-telegram-bot's webhook server

    HTTPServer.configure(None, max_body_size=MAX_WEBHOOK_BODY)
    logging.getLogger("telegram.ext._utils.webhookhandler").addFilter(_QuietWebhookErrors())

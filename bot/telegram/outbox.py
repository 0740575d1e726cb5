"""Replies owed (the transactional outbox): sent, forgotten once delivered, resent when not.

The engine stores a turn's replies in the same commit as its effects (``Turn.owed`` names the
row). They are sent here; rows delivered are forgotten in one commit every ``SETTLE_EVERY``
seconds, and rows whose send failed are resent every ``RESEND_EVERY`` seconds (after a restart,
all of them at once), so what was committed is never reported to the user as a failure.
"""

from __future__ import annotations

import logging

from telegram.error import BadRequest, TelegramError

from bot.config import redact
from bot.database import StoreError
from bot.replies import Reply, Turn, dump_replies, load_replies
from bot.telegram.context import BotContext, Services
from bot.telegram.delivery import schedule_new
from bot.telegram.photos import send_picture
from bot.telegram.render import render
from bot.telegram.send import send_text

log = logging.getLogger(__name__)

SETTLE_EVERY = 1.0  # seconds between commits that forget delivered replies (the resend window)
RESEND_EVERY = 30.0  # seconds between retries of replies still owed after a failed send


async def send_turn(context: BotContext, chat_id: int, turn: Turn) -> None:
    """Send every reply of ``turn`` to ``chat_id``, then schedule any reminders it created."""
    schedule_new(context.job_queue, turn.notifications)
    await send_replies(context, chat_id, turn.replies, turn.owed)


async def send_replies(
    context: BotContext, chat_id: int, replies: list[Reply], owed: int | None
) -> None:
    """Send replies; with ``owed`` (their outbox row) never raise: what was committed is never
    reported as a failure, and what could not be sent stays owed and is resent later."""
    svc = context.services
    sent = 0
    if owed is not None:
        svc.owed_in_flight.add(owed)
    try:
        for reply in replies:
            for text, markup in render(reply) if reply.text or not reply.image else []:
                await send_text(context, chat_id, text, markup)
            if reply.image:  # after the text, which a failed picture never holds back
                await send_picture(context, chat_id, reply)
            sent += 1
    except BadRequest as exc:  # the same request again cannot help: drop it, loudly
        if owed is None:
            raise
        log.error("reply to chat %s rejected: %s", chat_id, redact(str(exc)))
    except TelegramError as exc:
        if owed is None:
            raise
        log.warning("reply to chat %s not sent (%s); resending later", chat_id, redact(str(exc)))
        if sent:
            svc.engine.store.outbox.still_owe(owed, dump_replies(replies[sent:]))
        return
    finally:
        svc.owed_in_flight.discard(owed or 0)
    if owed is not None:
        svc.settled.append(owed)


async def settle(context: BotContext) -> None:
    """Forget, in one commit, the owed replies delivered since the last call."""
    settle_now(context.services)


def settle_now(svc: Services) -> None:
    """Forget the delivered replies now (every second, and when the bot stops)."""
    done, svc.settled = svc.settled, []
    try:
        svc.engine.store.outbox.settle(done)
    except StoreError:  # resent later if the bot stops first: a duplicate, never a loss
        svc.settled += done  # (the store has logged why, once)


async def resend_owed(context: BotContext) -> None:
    """Send the replies still owed: after a restart, everything; later, those whose send failed."""
    svc = context.services
    job = context.job
    # the start-up job passes 0.0 (everything owed is from before); the retry job, nothing
    older_than = job.data if job is not None and isinstance(job.data, float) else RESEND_EVERY
    for outbox_id, chat, data in svc.engine.store.outbox.owed(older_than):
        if outbox_id in svc.owed_in_flight or outbox_id in svc.settled:
            continue
        if svc.engine.store.shared and not svc.engine.store.outbox.claim_owed(outbox_id):
            continue  # another replica is sending these (or was, less than a lease ago)
        await send_replies(context, int(chat), load_replies(data), outbox_id)

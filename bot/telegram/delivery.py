"""Reminder delivery on Telegram: python-telegram-bot's JobQueue holds what the store says is due.

Only notifications due within ``HORIZON`` are jobs (one ``run_once`` job each, named ``n<id>``):
at start-up, whenever the engine creates new ones, and from a refill job every ``REFILL_EVERY``,
so memory follows what is due soon, not every reminder on file. A job claims the notification in
the store before sending (pending -> sending, committed), so a deleted, done or already-sent one
is skipped and no two senders send one, and marks it sent only after Telegram accepted it.
At most ``MAX_SENDS`` reminder messages are on their way at once: a burst of thousands due in
the same minute neither floods the HTTP connection pool nor queues ahead of chat replies in the
rate limiter. A send that fails under the send policy (``send``) gives the claim back and is
tried again later.

On a store several processes share (PostgreSQL replicas) each process's rate limiter paces only
its own sends, so reminder messages also keep to one pace for all of them together: a claim
reserves the next free moment of that pace in the same commit (``Reminders.claim``: one message
every ``pace()`` seconds, ``REMINDER_SHARE`` of ``CAREERBOT_RATE_LIMIT``), and the job waits for
its moment, holding its place among the ``MAX_SENDS``; the share left over is room for chat
replies. (Every message, reminder or reply, also keeps the processes' common overall pace:
``send.shared_pace``.)

Delivery is at-least-once: a kill between Telegram's "ok" and the commit resends the messages
that were in flight then (at most ``MAX_SENDS``), and a send that timed out waiting for the
answer is tried again (Telegram may have it).

A store that cannot write (a full disk) stops delivery instead of repeating it: a claim that
cannot be committed sends nothing and is retried later; a message Telegram accepted whose "sent"
mark cannot be committed is remembered in memory (``Services.unrecorded_sent``) and marked every
``RECORD_EVERY`` seconds until the store writes again, so it is never sent a second time (unless
the process dies before that: then it goes out once more after the restart, as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, Job, JobQueue

from bot.config import redact
from bot.database import DB_ERRORS, StoreError
from bot.reminders import Notification
from bot.telegram.context import BotContext, Services, services_of
from bot.telegram.render import render
from bot.telegram.send import chat_gone, retry_delay, with_retries

log = logging.getLogger(__name__)

HORIZON = 3600.0  # seconds ahead that notifications are held as jobs
REFILL_EVERY = 600.0  # seconds between refills; well under HORIZON, so none is ever missed
RECORD_EVERY = 5.0  # seconds between attempts to record sends the store could not take
RECLAIM_EVERY = 30.0  # seconds between looks for expired claims (shared stores only)
STORE_RETRY = 5.0  # seconds before trying again while the store cannot be used
# On a store several processes share, reminder messages of all of them together take this share
# of CAREERBOT_RATE_LIMIT (20 of Telegram's 30 a second); the rest is room for chat replies
REMINDER_SHARE = 2 / 3


def pace(svc: Services) -> float:
    """Seconds between two reminder messages of all the processes of a shared store together
    (``REMINDER_SHARE`` of the rate limit); 0 (no shared pace) on SQLite or with no limit."""
    rate = svc.settings.rate_limit
    if not svc.engine.store.shared or rate <= 0:
        return 0.0
    return 1.0 / (rate * REMINDER_SHARE)


def schedule(
    job_queue: JobQueue[Any], notifications: list[Notification], *, moved: bool = False
) -> int:
    """Add a job for each notification due within the horizon and not scheduled yet.

    With ``moved`` (notifications whose time is new: created, or moved to another time zone) an
    existing job of the same notification is replaced. Returns how many jobs were added; later
    notifications are left to the refill job.
    """
    now = time.time()
    added = 0
    existing = {job.name: job for job in job_queue.jobs()}  # one pass: by name is O(jobs)
    for n in notifications:
        name = f"n{n.id}"
        if n.fire_at > now + HORIZON:
            continue
        if name in existing:
            if not moved:
                continue
            existing[name].schedule_removal()
        existing[name] = _job(job_queue, n.id, 0, max(0.0, n.fire_at - now))
        added += 1
    return added


def _job(job_queue: JobQueue[Any], notification_id: int, attempt: int, when: float) -> Job[Any]:
    return job_queue.run_once(
        deliver,
        when=when,
        data=(notification_id, attempt),
        name=f"n{notification_id}",
        # APScheduler drops a job over 1 s late by default; a reminder is never dropped
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )


def schedule_new(job_queue: JobQueue[Any] | None, notifications: list[Notification]) -> None:
    """Schedule notifications just created or moved (a turn's, a repeat's after a send)."""
    if notifications and job_queue is not None:
        schedule(job_queue, notifications, moved=True)


async def schedule_all(application: Application) -> None:  # type: ignore[type-arg]
    """At start-up: schedule what is due soon (overdue: now), then refill every few minutes."""
    reminders = services_of(application).engine.reminders
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("reminders need python-telegram-bot's job-queue extra")
    shared = services_of(application).engine.store.shared
    # claimed by a process that died before sending: resend (on a shared store, only claims
    # whose lease ran out; the reclaim job takes the others back when theirs do)
    recovered = reminders.recover(expired_only=shared)
    if recovered:
        log.info("%d reminder messages were being sent when a bot stopped", len(recovered))
    now = time.time()
    soon = reminders.pending(until=now + HORIZON)
    late = sum(1 for n in soon if n.fire_at < now)
    added = schedule(job_queue, soon)
    log.info("scheduled %d pending reminder messages (%d late)", added, late)
    if not job_queue.get_jobs_by_name("refill"):
        job_queue.run_repeating(refill, interval=REFILL_EVERY, first=REFILL_EVERY, name="refill")
    if not job_queue.get_jobs_by_name("record"):
        job_queue.run_repeating(record, interval=RECORD_EVERY, first=RECORD_EVERY, name="record")
    if shared and not job_queue.get_jobs_by_name("reclaim"):
        job_queue.run_repeating(
            reclaim, interval=RECLAIM_EVERY, first=RECLAIM_EVERY, name="reclaim"
        )


async def reclaim(context: BotContext) -> None:
    """On a shared store: send what a process that was killed had claimed, once its lease ran
    out (the claim's owner may be alive and sending until then)."""
    if context.job_queue is None:
        return
    try:
        taken = context.services.engine.reminders.recover(expired_only=True)
    except (StoreError, *DB_ERRORS) as exc:
        log.warning("could not look for expired claims: %s", exc)
        return
    if taken:
        log.info("%d reminder messages left by a stopped bot are sent again", len(taken))
        schedule(context.job_queue, taken, moved=True)


async def refill(context: BotContext) -> None:
    """Schedule the notifications that have come within the horizon since the last refill."""
    if context.job_queue is not None:
        reminders = context.services.engine.reminders
        schedule(context.job_queue, reminders.pending(until=time.time() + HORIZON))


async def deliver(context: BotContext) -> None:
    """Send one notification if it is still pending; try again later on failure."""
    if context.job is None or not isinstance(context.job.data, tuple):
        return
    notification_id, attempt = context.job.data
    svc = context.services
    async with svc.reminder_sends:
        reminders = svc.engine.reminders
        try:
            notification = reminders.notification(notification_id)
            if notification is None:
                return  # sent, done, deleted or paused meanwhile, or another job is sending it
            if notification.fire_at > time.time() + 1:
                return  # moved later (a time-zone change): its new job, or the refill, sends it
            send_at = reminders.claim(notification_id, pace(svc))
            if send_at is None:
                return  # claimed by another sender between the two reads
        except (StoreError, *DB_ERRORS) as exc:  # nothing is sent that cannot be recorded
            if not isinstance(exc, StoreError):  # a StoreError was logged by the store
                log.warning("reminder %s waits for the store: %s", notification_id, exc)
            if context.job_queue is not None:
                # not a failed send: the same attempt again, soon (at most STORE_RETRY)
                delay = min(retry_delay(exc, attempt), STORE_RETRY)
                _job(context.job_queue, notification_id, attempt, delay)
            return
        wait = send_at - time.time()
        if wait > 0:  # its moment in the replicas' shared pace (holding its place in flight)
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:  # the bot stops: another process may send it now
                with contextlib.suppress(StoreError, *DB_ERRORS):
                    reminders.release(notification_id)
                raise
        await _send(context, svc, notification, attempt)


async def _send(
    context: BotContext, svc: Services, notification: Notification, attempt: int
) -> None:
    reminders = svc.engine.reminders
    chat_id = int(notification.user_id)
    reply = reminders.message(notification, online_since=svc.online_since)
    try:
        for text, markup in render(reply):
            await with_retries(
                partial(context.bot.send_message, chat_id, text, reply_markup=markup)
            )
    except (Forbidden, BadRequest) as exc:
        if not chat_gone(exc):
            _failed(context, svc, notification.id, attempt, exc)
            return
        # blocked, or the chat is gone (a deleted account): held until the user writes again
        log.info("chat %s unreachable (%s); holding their reminders", chat_id, redact(str(exc)))
        reminders.pause_user(notification.user_id)
        svc.engine.store.set_active(notification.user_id, False)
        return
    except (RetryAfter, NetworkError) as exc:  # NetworkError: timeouts too
        _failed(context, svc, notification.id, attempt, exc)
        return
    try:
        repeat = reminders.mark_sent(notification.id)
    except (StoreError, *DB_ERRORS):  # sent but not recorded: kept claimed, recorded later
        svc.unrecorded_sent.add(notification.id)
        return
    schedule_new(context.job_queue, repeat)


def _failed(
    context: BotContext, svc: Services, notification_id: int, attempt: int, exc: Exception
) -> None:
    """A send that failed and may go through later: give the claim back and try again."""
    if isinstance(exc, BadRequest):
        log.error("reminder %s rejected by Telegram: %s", notification_id, redact(str(exc)))
    elif not isinstance(exc, RetryAfter):
        log.warning("reminder %s not sent (%s); retrying", notification_id, redact(str(exc)))
    try:
        svc.engine.reminders.release(notification_id)
    except (StoreError, *DB_ERRORS):  # still claimed: released and retried once it writes
        svc.unrecorded_released.add(notification_id)
        return
    if context.job_queue is not None:
        _job(context.job_queue, notification_id, attempt + 1, retry_delay(exc, attempt))


async def record(context: BotContext) -> None:
    """Commit the marks that failed before (a full disk), now that the store may have room."""
    svc = context.services
    sent, released = svc.unrecorded_sent, svc.unrecorded_released
    if not sent and not released:
        return
    reminders = svc.engine.reminders
    repeats: list[Notification] = []
    try:
        for notification_id in sorted(sent):
            repeats += reminders.mark_sent(notification_id)
            sent.discard(notification_id)
        for notification_id in sorted(released):
            reminders.release(notification_id)
            released.discard(notification_id)
            if context.job_queue is not None:
                _job(context.job_queue, notification_id, 1, 0.0)
    except (StoreError, *DB_ERRORS):
        return  # still cannot write; the next run tries again
    finally:
        schedule_new(context.job_queue, repeats)

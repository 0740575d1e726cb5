"""Reminder delivery on Telegram: python-telegram-bot's JobQueue holds what the store says is due.

Only notifications due within ``HORIZON`` are jobs (one ``run_once`` job each, named ``n<id>``):
at start-up, whenever the engine creates new ones, and from a refill job every ``REFILL_EVERY``,
so memory follows what is due soon, not every reminder on file. A job claims the notification in
the store before sending (pending -> sending, committed), so a deleted, done or already-sent one
is skipped and no two senders send one, and marks it sent only after Telegram accepted it.
At most ``MAX_SENDS`` reminder messages are on their way at once: a burst of thousands due in
the same minute neither floods the HTTP connection pool nor queues ahead of chat replies in the
rate limiter.

Delivery is at-least-once: a kill between Telegram's "ok" and the commit resends the messages
that were in flight then (at most ``MAX_SENDS``; with the rate limiter on, measured: none or one).

A store that cannot write (a full disk) stops delivery instead of repeating it: a claim that
cannot be committed sends nothing and is retried later; a message Telegram accepted whose "sent"
mark cannot be committed is remembered in memory (``unrecorded``) and marked every
``RECORD_EVERY`` seconds until the store writes again, so it is never sent a second time (unless
the process dies before that: then it goes out once more after the restart, as above).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot.config import redact
from bot.reminders import Notification
from bot.store import StoreError

if TYPE_CHECKING:
    from telegram.ext import Application, JobQueue

    from bot.telegram_app import Services

log = logging.getLogger(__name__)

HORIZON = 3600.0  # seconds ahead that notifications are held as jobs
REFILL_EVERY = 600.0  # seconds between refills; well under HORIZON, so none is ever missed
MAX_SENDS = 8  # reminder messages on their way at once
RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0, 300.0)  # then every 5 minutes until it goes through
RECORD_EVERY = 5.0  # seconds between attempts to record sends the store could not take


def schedule(
    job_queue: JobQueue,  # type: ignore[type-arg]
    notifications: list[Notification],
    *,
    moved: bool = False,
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
        job = job_queue.run_once(
            deliver,
            when=max(0.0, n.fire_at - now),
            data=(n.id, 0),
            name=name,
            # APScheduler drops a job over 1 s late by default; a reminder is never dropped
            job_kwargs={"misfire_grace_time": None, "coalesce": True},
        )
        existing[name] = job
        added += 1
    return added


def schedule_new(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Schedule whatever the engine created since the last call."""
    fresh = services.engine.reminders.drain()
    if fresh and application.job_queue is not None:
        schedule(application.job_queue, fresh, moved=True)


async def schedule_all(application: Application) -> None:  # type: ignore[type-arg]
    """At start-up: schedule what is due soon (overdue: now), then refill every few minutes."""
    from bot.telegram_app import services_of

    svc = services_of(application)
    job_queue = application.job_queue
    assert job_queue is not None
    reminders = svc.engine.reminders
    recovered = reminders.recover()  # claimed by a process that died before sending: resend
    if recovered:
        log.info("%d reminder messages were being sent when the bot stopped", recovered)
    now = time.time()
    soon = reminders.pending(until=now + HORIZON)
    reminders.drain()
    late = sum(1 for n in soon if n.fire_at < now)
    added = schedule(job_queue, soon)
    log.info("scheduled %d pending reminder messages (%d late)", added, late)
    if not job_queue.get_jobs_by_name("refill"):
        job_queue.run_repeating(refill, interval=REFILL_EVERY, first=REFILL_EVERY, name="refill")
    if not job_queue.get_jobs_by_name("record"):
        job_queue.run_repeating(record, interval=RECORD_EVERY, first=RECORD_EVERY, name="record")


async def refill(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedule the notifications that have come within the horizon since the last refill."""
    from bot.telegram_app import services

    assert context.job_queue is not None
    reminders = services(context).engine.reminders
    schedule(context.job_queue, reminders.pending(until=time.time() + HORIZON))


async def deliver(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send one notification if it is still pending; retry later on failure."""
    from bot.telegram_app import services

    job = context.job
    assert job is not None and isinstance(job.data, tuple)
    notification_id, attempt = job.data
    svc = services(context)
    async with svc.reminder_sends:
        reminders = svc.engine.reminders
        notification = reminders.notification(notification_id)
        if notification is None:
            return  # sent, done, deleted or paused meanwhile, or another job is sending it now
        if notification.fire_at > time.time() + 1:
            return  # moved later (a time-zone change): its new job, or the refill, sends it
        try:
            claimed = reminders.claim(notification_id)
        except StoreError:  # nothing is sent that cannot be recorded (the store logged why)
            _again(context, notification_id, attempt)
            return
        if not claimed:
            return  # claimed by another sender between the two reads
        await _send(context, svc, notification, attempt)


async def _send(
    context: ContextTypes.DEFAULT_TYPE, svc: Services, notification: Notification, attempt: int
) -> None:
    from bot.telegram_app import render

    reminders = svc.engine.reminders
    notification_id = notification.id
    chat_id = int(notification.user_id)
    reply = reminders.message(notification, online_since=svc.online_since)
    try:
        for text, markup in render(reply):
            await context.bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)
    except Forbidden:
        log.info("user %s blocked the bot; holding their reminders", chat_id)
        reminders.pause_user(notification.user_id)
        svc.engine.store.set_active(notification.user_id, False)
        return
    except BadRequest as exc:
        log.error("reminder %s rejected by Telegram: %s", notification_id, redact(str(exc)))
        _retry(context, notification_id, attempt, RETRY_DELAYS[-1])
        return
    except RetryAfter as exc:
        _retry(context, notification_id, attempt, seconds(exc.retry_after))
        return
    except NetworkError as exc:  # includes timeouts: the message may or may not have arrived
        log.warning("reminder %s not sent (%s); retrying", notification_id, redact(str(exc)))
        _retry(
            context, notification_id, attempt, RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
        )
        return
    try:
        reminders.mark_sent(notification_id)
    except StoreError:  # sent but not recorded: keep it claimed and record it later
        unrecorded(context.application).add(notification_id)
        return
    schedule_new(context.application, svc)


def unrecorded(application: Application, what: str = "sent") -> set[int]:  # type: ignore[type-arg]
    """Notifications whose "sent" mark (or, with ``what="released"``, whose release after a
    failed send) the store could not commit yet."""
    found: set[int] = application.bot_data.setdefault(f"unrecorded_{what}", set())
    return found


async def record(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commit the marks that failed before (a full disk), now that the store may have room."""
    from bot.telegram_app import services

    sent, released = unrecorded(context.application), unrecorded(context.application, "released")
    if not sent and not released:
        return
    reminders = services(context).engine.reminders
    try:
        for notification_id in sorted(sent):
            reminders.mark_sent(notification_id)
            sent.discard(notification_id)
        for notification_id in sorted(released):
            reminders.release(notification_id)
            released.discard(notification_id)
            _again(context, notification_id, 0, 0.0)
    except StoreError:
        return  # still cannot write; the next run tries again
    finally:
        schedule_new(context.application, services(context))


def _retry(
    context: ContextTypes.DEFAULT_TYPE, notification_id: int, attempt: int, delay: float
) -> None:
    """Give the claim back and try again after ``delay`` seconds."""
    from bot.telegram_app import services

    try:
        services(context).engine.reminders.release(notification_id)
    except StoreError:  # still claimed: released (and retried) once the store writes again
        unrecorded(context.application, "released").add(notification_id)
        return
    _again(context, notification_id, attempt, delay)


def _again(
    context: ContextTypes.DEFAULT_TYPE,
    notification_id: int,
    attempt: int,
    delay: float | None = None,
) -> None:
    """Run the notification's delivery again after ``delay`` (default: by attempt) seconds."""
    assert context.job_queue is not None
    if delay is None:
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
    context.job_queue.run_once(
        deliver,
        when=delay,
        data=(notification_id, attempt + 1),
        name=f"n{notification_id}",
        job_kwargs={"misfire_grace_time": None},
    )


def seconds(value: object) -> float:
    """Seconds in a ``RetryAfter.retry_after`` (a timedelta, or an int in older versions)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]

"""Reminder delivery on Telegram: python-telegram-bot's JobQueue holds what the store says is due.

Every pending notification gets one ``run_once`` job (named ``n<id>``), at start-up and whenever
the engine creates new ones. A job re-reads the store before sending, so a deleted, done or
already-sent notification is skipped, and marks it sent only after Telegram accepted the message.
Delivery is at-least-once: a kill between Telegram's "ok" and the commit resends each message
that was in flight then (with the rate limiter on, measured: none or one).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot.config import redact
from bot.reminders import Notification

if TYPE_CHECKING:
    from telegram.ext import Application, JobQueue

    from bot.telegram_app import Services

log = logging.getLogger(__name__)

RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0, 300.0)  # then every 5 minutes until it goes through


def schedule(job_queue: JobQueue, notifications: list[Notification]) -> int:  # type: ignore[type-arg]
    """Add a job for each notification not already scheduled; return how many were added."""
    now = time.time()
    added = 0
    existing = {job.name for job in job_queue.jobs()}  # one pass: looking up by name is O(jobs)
    for n in notifications:
        name = f"n{n.id}"
        if name in existing:
            continue
        existing.add(name)
        job_queue.run_once(
            deliver,
            when=max(0.0, n.fire_at - now),
            data=(n.id, 0),
            name=name,
            # APScheduler drops a job over 1 s late by default; a reminder is never dropped
            job_kwargs={"misfire_grace_time": None, "coalesce": True},
        )
        added += 1
    return added


def schedule_new(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Schedule whatever the engine created since the last call."""
    fresh = services.engine.reminders.drain()
    if fresh and application.job_queue is not None:
        schedule(application.job_queue, fresh)


async def schedule_all(application: Application) -> None:  # type: ignore[type-arg]
    """At start-up: schedule every pending notification; those whose time passed go out now."""
    from bot.telegram_app import services_of

    svc = services_of(application)
    assert application.job_queue is not None
    pending = svc.engine.reminders.pending()
    svc.engine.reminders.drain()
    late = sum(1 for n in pending if n.fire_at < time.time())
    added = schedule(application.job_queue, pending)
    log.info("scheduled %d pending reminder messages (%d late)", added, late)


async def deliver(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send one notification if it is still pending; retry later on failure."""
    from bot.telegram_app import services

    job = context.job
    assert job is not None and isinstance(job.data, tuple)
    notification_id, attempt = job.data
    svc = services(context)
    reminders = svc.engine.reminders
    notification = reminders.notification(notification_id)
    if notification is None or notification_id in svc.delivering:
        return  # sent, done, deleted or paused meanwhile, or another job is sending it now
    svc.delivering.add(notification_id)
    try:
        await _send(context, svc, notification, attempt)
    finally:
        svc.delivering.discard(notification_id)


async def _send(
    context: ContextTypes.DEFAULT_TYPE, svc: Services, notification: Notification, attempt: int
) -> None:
    from bot.telegram_app import render

    reminders = svc.engine.reminders
    notification_id = notification.id
    chat_id = int(notification.user_id)
    reply = reminders.message(notification)
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
    reminders.mark_sent(notification_id)
    schedule_new(context.application, svc)


def _retry(
    context: ContextTypes.DEFAULT_TYPE, notification_id: int, attempt: int, delay: float
) -> None:
    assert context.job_queue is not None
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

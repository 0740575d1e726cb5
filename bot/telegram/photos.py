"""The Telegram side of charts: a reply's picture goes out with ``sendPhoto`` after its text.

The first time a bot sends a chart version it uploads the PNG (multipart) and keeps the
``file_id`` Telegram gives back in the store (``chart_files``); from then on it sends that id, so
a chart is uploaded once per bot, not once per user. Every request goes through the send policy
(``send.with_retries``). A picture is never worth the answer: if drawing or sending fails the
text has already gone (or, for a picture-only reply, goes out in words instead), and the failure
is logged once per chart version until a send succeeds again.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message
from telegram.error import BadRequest, TelegramError

from bot.charts import caption, describe
from bot.config import redact
from bot.replies import Reply
from bot.telegram.context import BotContext, Photos, Services
from bot.telegram.render import html
from bot.telegram.send import send_text, with_retries

log = logging.getLogger(__name__)


async def send_picture(context: BotContext, chat_id: int, reply: Reply) -> bool:
    """Send the chart of ``reply`` as a photo with its caption; never raise. False when it could
    not be sent (a picture-only reply then gets the chart in words)."""
    svc = context.services
    chart_id = reply.image or ""
    if chart_id not in svc.engine.kb.charts:
        return False
    photos = svc.photos
    photos.pictures.kb = svc.engine.kb  # follows /reload
    version = f"{chart_id}-{photos.pictures.key(chart_id)}"
    try:
        sent = await _send(context, svc, chart_id, version, chat_id)
    except (TelegramError, OSError) as exc:
        _failed(photos, version, f"chart {chart_id} not sent to chat {chat_id}: {exc}")
        sent = False
    if sent:
        photos.failing.discard(version)
    elif not reply.text:
        await _in_words(context, svc, chart_id, chat_id)
    return sent


async def _send(
    context: BotContext, svc: Services, chart_id: str, version: str, chat_id: int
) -> bool:
    bot, store, photos = str(context.bot.id), svc.engine.store, svc.photos
    text = html(caption(svc.engine.kb, chart_id))  # plain text under the HTML default
    async with photos.uploads.setdefault(version, asyncio.Lock()):  # one upload per version
        known = store.chart_file(bot, version)
        if known is not None:
            try:
                await with_retries(lambda: context.bot.send_photo(chat_id, known, caption=text))
                return True
            except BadRequest as exc:  # the id is no longer valid: upload again
                log.info("stored file_id of chart %s refused (%s); uploading it", chart_id, exc)
                store.remember_chart_file(bot, version, None)
        path = await asyncio.to_thread(photos.pictures.path, chart_id)
        if path is None:  # could not be drawn; Pictures has logged it once
            return False
        data = path.read_bytes()
        message: Message = await with_retries(
            lambda: context.bot.send_photo(chat_id, data, caption=text, filename=path.name)
        )
        if message.photo:
            store.remember_chart_file(bot, version, message.photo[-1].file_id)
        return True


async def _in_words(context: BotContext, svc: Services, chart_id: str, chat_id: int) -> None:
    """The chart as text, for a "Show as picture" press whose picture could not be sent."""
    try:
        await send_text(context, chat_id, html(describe(svc.engine.kb, chart_id)))
    except TelegramError as exc:
        log.warning("chart %s in words not sent to chat %s: %s", chart_id, chat_id, exc)


def _failed(photos: Photos, version: str, message: str) -> None:
    """Log a failed picture once per chart version (until it is sent again)."""
    if version in photos.failing:
        log.debug("%s", redact(message))
        return
    photos.failing.add(version)
    log.warning("%s", redact(message))

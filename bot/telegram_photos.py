"""The Telegram side of charts: a reply's picture goes out with ``sendPhoto`` after its text.

The first time a bot sends a chart version it uploads the PNG (multipart) and keeps the
``file_id`` Telegram gives back in the store (``chart_files``); from then on it sends that id, so
a chart is uploaded once per bot, not once per user. A picture is never worth the answer: if
drawing or sending fails the text has already gone (or, for a picture-only reply, goes out in
words instead), and the failure is logged once per chart until a send succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram import Message
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.charts import Pictures, cache_folder, caption, describe
from bot.config import redact
from bot.engine import Engine
from bot.replies import Reply

log = logging.getLogger(__name__)


@dataclass
class Photos:
    """Per-application state: the drawn pictures, one upload at a time per chart, and which
    charts' failures were already logged."""

    pictures: Pictures
    uploads: dict[str, asyncio.Lock] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)


def _photos(context: ContextTypes.DEFAULT_TYPE, engine: Engine) -> Photos:
    photos: Photos | None = context.bot_data.get("photos")
    if photos is None:
        folder = cache_folder(engine.store.path)
        photos = context.bot_data["photos"] = Photos(Pictures(engine.kb, folder))
    photos.pictures.kb = engine.kb  # follows /reload
    return photos


async def send_picture(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> bool:
    """Send the chart of ``reply`` as a photo with its caption; never raise. False when it could
    not be sent (a picture-only reply then gets the chart in words)."""
    engine: Engine = context.bot_data["services"].engine
    chart_id = reply.image or ""
    if chart_id not in engine.kb.charts:
        return False
    photos = _photos(context, engine)
    version = f"{chart_id}-{photos.pictures.key(chart_id)}"
    try:
        sent = await _send(context, engine, photos, chart_id, version, chat_id)
    except (TelegramError, OSError) as exc:
        _failed(photos, version, f"chart {chart_id} not sent to chat {chat_id}: {exc}")
        sent = False
    if sent:
        photos.failing.discard(version)
    elif not reply.text:
        await _in_words(context, engine, chart_id, chat_id)
    return sent


async def _send(
    context: ContextTypes.DEFAULT_TYPE,
    engine: Engine,
    photos: Photos,
    chart_id: str,
    version: str,
    chat_id: int,
) -> bool:
    bot = str(context.bot.id)
    text = caption(engine.kb, chart_id)
    async with photos.uploads.setdefault(version, asyncio.Lock()):  # one upload per version
        known = engine.store.chart_file(bot, version)
        if known is not None:
            try:
                await context.bot.send_photo(chat_id, known, caption=text)
                return True
            except BadRequest as exc:  # the id is no longer valid: upload again
                log.info("stored file_id of chart %s refused (%s); uploading it", chart_id, exc)
                engine.store.remember_chart_file(bot, version, None)
        path = await asyncio.to_thread(photos.pictures.path, chart_id)
        if path is None:  # could not be drawn; Pictures has logged it once
            return False
        message: Message = await context.bot.send_photo(
            chat_id, path.read_bytes(), caption=text, filename=path.name
        )
        if message.photo:
            engine.store.remember_chart_file(bot, version, message.photo[-1].file_id)
        return True


async def _in_words(
    context: ContextTypes.DEFAULT_TYPE, engine: Engine, chart_id: str, chat_id: int
) -> None:
    """The chart as text, for a "Show as picture" press whose picture could not be sent."""
    try:
        await context.bot.send_message(chat_id, describe(engine.kb, chart_id))
    except TelegramError as exc:
        log.warning("chart %s in words not sent to chat %s: %s", chart_id, chat_id, exc)


def _failed(photos: Photos, version: str, message: str) -> None:
    """Log a failed picture once per chart version (until it is sent again)."""
    if version in photos.failing:
        log.debug("%s", redact(message))
        return
    photos.failing.add(version)
    log.warning("%s", redact(message))

"""The handlers: each translates one kind of update into an engine call and sends the turn.

No business logic lives here. ``app`` registers them, in the order they are tried.
"""

from __future__ import annotations

import json
import logging
import re

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.config import redact
from bot.database import StoreError
from bot.engine import Engine
from bot.knowledge import check, default_data_dir
from bot.replies import Turn, split_text
from bot.telegram.context import BotContext, Services
from bot.telegram.outbox import send_turn
from bot.telegram.render import html
from bot.telegram.send import send_text, with_retries

log = logging.getLogger(__name__)


def _command_name(text: str) -> str:
    """``/Export@careerbot now`` -> ``/export``."""
    return text.split()[0].split("@")[0].lower()


async def text_message(update: Update, context: BotContext) -> None:
    """Answer a text message (in groups: only when the bot is mentioned)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    text = message.text
    if message.chat.type != ChatType.PRIVATE:
        mention = re.compile(re.escape(f"@{context.bot.username}"), re.IGNORECASE)
        if not mention.search(text):
            return
        text = mention.sub(" ", text)
    private = message.chat.type == ChatType.PRIVATE
    engine = context.services.engine
    turn = engine.handle(str(user.id), text, private, update.update_id, str(message.chat_id))
    await send_turn(context, message.chat_id, turn)


async def command(update: Update, context: BotContext) -> None:
    """Pass a /command to the engine (it also answers unknown commands)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    if private and _command_name(message.text) == "/export":
        await export(update, context)  # a file; in groups the engine refuses /export
        return
    engine = context.services.engine
    chat = str(message.chat_id)
    turn = engine.handle(str(user.id), message.text, private, update.update_id, chat)
    await send_turn(context, message.chat_id, turn)


async def export(update: Update, context: BotContext) -> None:
    """Send the user everything stored about them, as a JSON file."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    engine = context.services.engine
    data = json.dumps(engine.store.export(str(user.id)), indent=2, ensure_ascii=False)
    intro = html(engine.export(str(user.id)).text.split("\n\n", 1)[0])
    await with_retries(
        lambda: context.bot.send_document(
            message.chat_id, data.encode(), filename="careerbot-export.json", caption=intro
        )
    )


async def admin_command(update: Update, context: BotContext) -> None:
    """Run /report or /reload for admins; anyone else gets the unknown-command reply."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    svc = context.services
    if user.id not in svc.settings.admin_ids:
        await command(update, context)
        return
    text = report(svc.engine) if _command_name(message.text) == "/report" else reload_data(svc)
    for chunk in split_text(text):
        await send_text(context, message.chat_id, html(chunk))


def report(engine: Engine) -> str:
    """The curators' report: frequent unanswered questions and answers marked unhelpful."""
    lines = ["Most frequent unanswered questions:"]
    lines += [f"{n} x {text}" for text, n in engine.store.curation.top_unanswered(15)] or [
        "(none)"
    ]
    lines += ["", "Answers marked not helpful:"]
    lines += [f"{n} x {entry}" for entry, n in engine.store.curation.unhelpful(15)] or ["(none)"]
    return "\n".join(lines)


def reload_data(svc: Services) -> str:
    """Re-read the data folders; swap them in only if they validate."""
    kb, problems = check(svc.settings.data_dir or default_data_dir())
    if problems:
        listed = "\n".join(str(p) for p in problems[:30])
        return f"Not reloaded: {len(problems)} problem(s); still serving the old data.\n{listed}"
    svc.engine.swap(kb)
    try:  # the other processes of a shared store follow (follow_reloads)
        svc.data_version = svc.engine.store.bump_data_version()
    except StoreError as exc:
        log.warning("reloaded here, but could not tell the other processes: %s", exc)
    return f"Reloaded. {kb.summary()}"


async def follow_reloads(context: BotContext) -> None:
    """Serve the new data when another process of the same store was sent ``/reload``."""
    svc = context.services
    try:
        version = svc.engine.store.data_version()
    except StoreError as exc:
        log.warning("could not read the data version: %s", exc)
        return
    if version == svc.data_version:
        return
    svc.data_version = version  # tried once per /reload, even if the data does not validate
    kb, problems = check(svc.settings.data_dir or default_data_dir())
    if problems:
        log.warning("another process reloaded; here %d problem(s), old data kept", len(problems))
        return
    svc.engine.swap(kb)
    log.info("reloaded the data after another process's /reload (version %d)", version)


async def button(update: Update, context: BotContext) -> None:
    """Pass a button press to the engine; always answer the callback query."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:  # only stops the button's spinner, so never retried; the press counts even if it fails
        await query.answer()
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", redact(str(exc)))
    chat_id = query.message.chat.id if query.message else user.id
    private = query.message is None or query.message.chat.type == ChatType.PRIVATE
    engine = context.services.engine
    turn = engine.press(str(user.id), query.data or "", private, update.update_id, str(chat_id))
    await send_turn(context, chat_id, turn)


async def not_text(update: Update, context: BotContext) -> None:
    """Tell the user that only text is understood (stickers, photos, voice, files...)."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    engine = context.services.engine
    await send_turn(context, message.chat_id, Turn([engine.response("non_text")]))


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure once and tell the user something went wrong; the bot goes on."""
    if not isinstance(context.error, StoreError):  # the store logs its own, once per outage
        log.error("update failed: %s", redact(repr(context.error)), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        apology = html(context.services.engine.response("error").text)
        try:
            await context.bot.send_message(update.effective_chat.id, apology)
        except Exception as exc:  # the apology itself failed: nothing more to do than log it
            log.warning("could not send the error reply: %s", redact(repr(exc)))


async def prune_updates(context: BotContext) -> None:
    """Forget old handled update ids (the table only guards against resent updates)."""
    context.services.engine.store.prune_updates()

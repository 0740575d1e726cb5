"""The Telegram channel: python-telegram-bot handlers that pass updates to the engine.

No business logic lives here: handlers translate an update into ``engine.handle``/``engine.press``
and the returned replies into Telegram messages (HTML, split under 4096 characters, buttons).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlparse

# Opt in to timedelta time periods now, so reading RetryAfter.retry_after raises no deprecation.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import TOKEN_SHAPE, ConfigError, Settings, redact
from bot.delivery import MAX_SENDS, schedule_all, schedule_new, seconds
from bot.engine import Engine
from bot.http_client import AiohttpRequest, NotSent
from bot.knowledge import DataError, check, default_data_dir, load
from bot.logs import setup_logging
from bot.ptb_memory import NoPersistenceApplication
from bot.replies import (
    MAX_MESSAGE,
    Reply,
    Turn,
    dump_replies,
    load_replies,
    split_text,
    utf16_len,
)
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = [
    ("start", "Start and see the menu"),
    ("menu", "Guided tours and main topics"),
    ("help", "What I can do"),
    ("certifications", "Which certification fits me"),
    ("degrees", "Which degree to get"),
    ("path", "My next career step"),
    ("remind", "Set a reminder: /remind 2027-03-14 CMM exam"),
    ("reminders", "My reminders"),
    ("timezone", "Set my time zone: /timezone Europe/Berlin"),
    ("export", "Everything stored about me"),
    ("forget", "Delete everything stored about me"),
    ("cancel", "Leave the current guided tour"),
]
SEND_ATTEMPTS = 4
MAX_CONCURRENT_UPDATES = 64
# A few connections serve 64 updates in flight (measured in bench/throughput.py: fewer cost
# throughput, more gain nothing); a request waits for a free one up to POOL_TIMEOUT seconds.
CONNECTION_POOL_SIZE = 8
POOL_TIMEOUT = 30.0
SETTLE_EVERY = 1.0  # seconds between commits that forget delivered replies (the resend window)
RESEND_EVERY = 30.0  # seconds between retries of replies still owed after a failed send
MAX_WEBHOOK_BODY = 1_000_000  # bytes; Telegram's updates are a few KB
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")  # Telegram allows 1-256 of these


@dataclass
class Services:
    """What the handlers need, kept in ``application.bot_data``."""

    engine: Engine
    settings: Settings
    owed_in_flight: set[int] = field(default_factory=set)  # outbox rows being sent right now
    settled: list[int] = field(default_factory=list)  # outbox rows delivered, not yet forgotten
    reminder_sends: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_SENDS))
    online_since: float = field(default_factory=time.time)  # reminders due before it are late


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The services of the running application."""
    found: Services = context.bot_data["services"]
    return found


def services_of(application: Application) -> Services:  # type: ignore[type-arg]
    """The services kept in an application."""
    found: Services = application.bot_data["services"]
    return found


class PerUserOrder(BaseUpdateProcessor):
    """Processes updates concurrently, but each user's updates one at a time, in order.

    An update waits for its user's earlier ones *before* it takes one of the concurrency slots,
    so one user's backlog holds a single slot and never delays everyone else. The base class
    takes its own slot before ``do_process_update`` runs, which is the wrong order, so it is
    given no limit and the slots are a semaphore taken here, after the user's lock.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        """Allow up to ``max_concurrent_updates`` users' updates at once."""
        super().__init__(2**31 - 1)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this user's earlier updates, then for a free slot, then process this one."""
        key = _owner(update)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _owner(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user:
            return update.effective_user.id
        if update.effective_chat:
            return update.effective_chat.id
    return 0


# --- rendering -------------------------------------------------------------------------------


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """A reply as HTML messages under Telegram's limit; the buttons go on the last one.

    The plain text is split first and each piece escaped, so no entity (``&amp;``) is ever cut;
    where escaping makes a piece too long, it is split again more finely.
    """
    head = f"<b>{_html(reply.title)}</b>\n" if reply.title else ""
    foot = f"\n\n<i>Sources: {_html('; '.join(reply.sources))}</i>" if reply.sources else ""
    room = MAX_MESSAGE - utf16_len(head) - utf16_len(foot)
    chunks: list[str] = []
    for piece in split_text(reply.text, room):
        limit = room
        escaped = [_html(p) for p in split_text(piece, limit)]
        while any(utf16_len(e) > room for e in escaped):
            limit = limit * 3 // 4
            escaped = [_html(p) for p in split_text(piece, limit)]
        chunks += escaped
    chunks[0] = head + chunks[0]
    chunks[-1] += foot
    last = len(chunks) - 1
    return [(chunk, _keyboard(reply) if i == last else None) for i, chunk in enumerate(chunks)]


def _html(text: str) -> str:
    """Escape text for Telegram's HTML mode (quotes need no escaping there)."""
    return escape(text, quote=False)


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in reply.buttons:
        key = InlineKeyboardButton(button.label, callback_data=button.data)
        # short buttons (feedback, yes/no) share a row; topic buttons get their own
        if rows and len(button.label) <= 14 and len(rows[-1]) == 1 and len(rows[-1][0].text) <= 14:
            rows[-1].append(key)
        else:
            rows.append([key])
    return InlineKeyboardMarkup(rows)


async def send_turn(context: ContextTypes.DEFAULT_TYPE, chat_id: int, turn: Turn) -> None:
    """Send every reply of ``turn`` to ``chat_id``, then schedule any reminders it created."""
    schedule_new(context.application, services(context))
    await send_replies(context, chat_id, turn.replies, turn.owed)


async def send_replies(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: list[Reply], owed: int | None
) -> None:
    """Send replies; with ``owed`` (their outbox row) never raise: what was committed is never
    reported as a failure, and what could not be sent stays owed and is resent later."""
    svc = services(context)
    sent = 0
    if owed is not None:
        svc.owed_in_flight.add(owed)
    try:
        for reply in replies:
            for text, markup in render(reply):
                await send_text(context, chat_id, text, markup)
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
            svc.engine.store.still_owe(owed, dump_replies(replies[sent:]))
        return
    finally:
        svc.owed_in_flight.discard(owed or 0)
    if owed is not None:
        svc.settled.append(owed)


async def settle(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget, in one commit, the owed replies delivered since the last call."""
    settle_now(services(context))


def settle_now(svc: Services) -> None:
    """Forget the delivered replies now (every second, and when the bot stops)."""
    done, svc.settled = svc.settled, []
    try:
        svc.engine.store.settle(done)
    except StoreError:  # resent later if the bot stops first: a duplicate, never a loss
        svc.settled += done  # (the store has logged why, once)


async def resend_owed(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the replies still owed: after a restart, everything; later, those whose send failed."""
    svc = services(context)
    job = context.job
    # the start-up job passes 0.0 (everything owed is from before); the retry job, nothing
    older_than = job.data if job is not None and isinstance(job.data, float) else RESEND_EVERY
    for outbox_id, chat, data in svc.engine.store.owed(older_than):
        if outbox_id in svc.owed_in_flight or outbox_id in svc.settled:
            continue
        await send_replies(context, int(chat), load_replies(data), outbox_id)


async def send_text(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Send one message, waiting out flood limits and retrying failed connections.

    A timed-out send is not repeated: Telegram may already have delivered it, and a chat reply
    sent twice is worse than one the user can ask for again.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await context.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except Forbidden:
            log.info("chat %s blocked the bot; marking inactive", chat_id)
            services(context).engine.store.set_active(str(chat_id), False)
            return None
        except RetryAfter as exc:
            wait = seconds(exc.retry_after)
            log.warning("flood limit: waiting %.1f s before resending", wait)
            await asyncio.sleep(wait)
        except NotSent:  # nothing reached Telegram: sending again cannot duplicate it
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(0.2 * 2**attempt)
        except TimedOut:
            log.warning("send to chat %s timed out; not repeating it", chat_id)
            return None
        except BadRequest:  # a NetworkError subclass, but resending the same request cannot help
            raise
        except NetworkError as exc:
            if attempt == SEND_ATTEMPTS:
                raise
            log.warning("send failed (%s); retry %d", redact(str(exc)), attempt)
            await asyncio.sleep(0.2 * 2**attempt)
    return None


# --- handlers --------------------------------------------------------------------------------


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message (in groups: only when the bot is mentioned)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    text = message.text
    if message.chat.type != "private":
        mention = re.compile(re.escape(f"@{context.bot.username}"), re.IGNORECASE)
        if not mention.search(text):
            return
        text = mention.sub(" ", text)
    private = message.chat.type == ChatType.PRIVATE
    engine = services(context).engine
    turn = engine.handle(str(user.id), text, private, update.update_id, str(message.chat_id))
    await send_turn(context, message.chat_id, turn)


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass a /command to the engine (it also answers unknown commands)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    if private and message.text.split()[0].split("@")[0].lower() == "/export":
        await export(update, context)  # a file; in groups the engine refuses /export
        return
    engine = services(context).engine
    chat = str(message.chat_id)
    turn = engine.handle(str(user.id), message.text, private, update.update_id, chat)
    await send_turn(context, message.chat_id, turn)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the user everything stored about them, as a JSON file."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    engine = services(context).engine
    data = json.dumps(engine.store.export(str(user.id)), indent=2, ensure_ascii=False)
    intro = engine.export(str(user.id)).text.split("\n\n", 1)[0]
    await context.bot.send_document(
        message.chat_id, data.encode(), filename="careerbot-export.json", caption=intro
    )


async def admin_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run /report or /reload for admins; anyone else gets the unknown-command reply."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    svc = services(context)
    if user.id not in svc.settings.admin_ids:
        await command(update, context)
        return
    name = message.text.split()[0].split("@")[0].lower()
    text = report(svc.engine) if name == "/report" else reload_data(svc)
    for chunk in split_text(text):
        await send_text(context, message.chat_id, _html(chunk))


def report(engine: Engine) -> str:
    """The curators' report: frequent unanswered questions and answers marked unhelpful."""
    lines = ["Most frequent unanswered questions:"]
    lines += [f"{n} x {text}" for text, n in engine.store.top_unanswered(15)] or ["(none)"]
    lines += ["", "Answers marked not helpful:"]
    lines += [f"{n} x {entry}" for entry, n in engine.store.unhelpful(15)] or ["(none)"]
    return "\n".join(lines)


def reload_data(svc: Services) -> str:
    """Re-read the data folders; swap them in only if they validate."""
    kb, problems = check(svc.settings.data_dir or default_data_dir())
    if problems:
        listed = "\n".join(str(p) for p in problems[:30])
        return f"Not reloaded: {len(problems)} problem(s); still serving the old data.\n{listed}"
    svc.engine.swap(kb)
    return f"Reloaded. {kb.summary()}"


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass a button press to the engine; always answer the callback query."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        await query.answer()  # stops the button's spinner; the press counts even if this fails
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", redact(str(exc)))
    chat_id = query.message.chat.id if query.message else user.id
    private = query.message is None or query.message.chat.type == ChatType.PRIVATE
    engine = services(context).engine
    turn = engine.press(str(user.id), query.data or "", private, update.update_id, str(chat_id))
    await send_turn(context, chat_id, turn)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell the user that only text is understood (stickers, photos, voice, files...)."""
    message = update.effective_message
    if message is None or message.chat.type != "private":
        return
    engine = services(context).engine
    await send_turn(context, message.chat_id, Turn([engine.response("non_text")]))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure once and tell the user something went wrong; the bot goes on."""
    if not isinstance(context.error, StoreError):  # the store logs its own, once per outage
        log.error("update failed: %s", redact(repr(context.error)), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        engine = services(context).engine
        try:
            await context.bot.send_message(update.effective_chat.id, engine.response("error").text)
        except Exception as exc:  # the apology itself failed: nothing more to do than log it
            log.warning("could not send the error reply: %s", redact(repr(exc)))


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the public commands with Telegram and schedule the pending reminders."""
    await application.bot.set_my_commands([BotCommand(c, d) for c, d in PUBLIC_COMMANDS])
    services_of(application).engine.store.prune_updates()
    job_queue = application.job_queue
    if job_queue is not None:  # and daily, for a bot that runs for weeks
        job_queue.run_repeating(prune_updates, interval=86400, first=86400)
        job_queue.run_repeating(settle, interval=SETTLE_EVERY, first=SETTLE_EVERY)
        job_queue.run_once(resend_owed, when=0, data=0.0)
        job_queue.run_repeating(resend_owed, interval=RESEND_EVERY, first=RESEND_EVERY)
    await schedule_all(application)


async def prune_updates(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget old handled update ids (the table only guards against resent updates)."""
    services(context).engine.store.prune_updates()


# --- wiring ----------------------------------------------------------------------------------


def build_application(settings: Settings, engine: Engine) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot Application with every handler, in the order they are tried."""
    assert settings.token
    builder = (
        ApplicationBuilder()
        .application_class(NoPersistenceApplication)
        .token(settings.token)
        .base_url(settings.api_base_url)
        .concurrent_updates(PerUserOrder(MAX_CONCURRENT_UPDATES))
        .request(AiohttpRequest(CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT))
        .get_updates_request(AiohttpRequest(1))
        .post_init(post_init)
    )
    if settings.rate_limit > 0:
        limiter = AIORateLimiter(overall_max_rate=settings.rate_limit, max_retries=3)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app = builder.build()
    app.bot_data["services"] = Services(engine, settings)
    new = filters.UpdateType.MESSAGE  # edited messages are ignored
    app.add_handler(CommandHandler(["report", "reload"], admin_command, filters=new))
    app.add_handler(MessageHandler(new & filters.COMMAND, command))
    app.add_handler(MessageHandler(new & filters.TEXT, text_message))
    app.add_handler(MessageHandler(new & ~filters.TEXT, not_text))
    app.add_handler(CallbackQueryHandler(button))
    app.add_error_handler(on_error)
    return app


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """Run ``app`` with long polling inside an already running event loop, as ``run`` would.

    For embedding the bot in another asyncio program, and for tests and benchmarks.
    """
    await app.initialize()
    await post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        settle_now(services_of(app))
        await app.shutdown()


def webhook_problem(settings: Settings) -> str | None:
    """Why webhook mode must not start with these settings (None: it may)."""
    if not settings.webhook_secret:
        return (
            "CAREERBOT_WEBHOOK_SECRET is not set; webhook mode needs it so that only Telegram "
            "can post updates"
        )
    if not WEBHOOK_SECRET.fullmatch(settings.webhook_secret):
        return "CAREERBOT_WEBHOOK_SECRET must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
    return None


class _QuietWebhookErrors(logging.Filter):
    """A request that is not a valid update: one line, never its body or a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "webhook: dropped a request that is not a valid update", None
            record.exc_info, record.exc_text = None, None
        return True


def _limit_webhook_requests() -> None:
    """Bound the webhook's request bodies and quiet its malformed-request log."""
    from tornado.httpserver import HTTPServer  # python-telegram-bot's webhook server

    HTTPServer.configure(None, max_body_size=MAX_WEBHOOK_BODY)
    logging.getLogger("telegram.ext._utils.webhookhandler").addFilter(_QuietWebhookErrors())


def run_command(settings: Settings) -> int:
    """``python -m bot run``: serve Telegram until SIGINT/SIGTERM."""
    setup_logging(settings.log_level)
    problem = None
    if not settings.token:
        problem = "TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)"
    elif not TOKEN_SHAPE.match(settings.token):
        problem = "TELEGRAM_BOT_TOKEN is malformed (expected 123456:ABC...)"
    elif settings.webhook_url:
        problem = webhook_problem(settings)
    if problem:
        print(f"careerbot: {problem}", file=sys.stderr)
        return 2
    try:
        store = Store(settings.db_path, exclusive=True)
    except StoreError as exc:
        print(f"careerbot: {exc}", file=sys.stderr)
        return 2
    try:
        engine = Engine(load(settings.data_dir), store)
    except DataError as exc:
        print(
            f"careerbot: the data has {len(exc.problems)} problem(s); run `check`", file=sys.stderr
        )
        return 1
    app = build_application(settings, engine)
    log.info("careerbot starting (%s)", "webhook" if settings.webhook_url else "long polling")
    if settings.webhook_url:
        _limit_webhook_requests()
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),  # as a proxy forwards it
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    settle_now(services_of(app))
    engine.store.close()
    log.info("careerbot stopped")
    return 0


__all__ = ["ConfigError", "build_application", "render", "run_command"]

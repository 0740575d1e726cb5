"""The Telegram application, wired: the builder, the handlers in one list, polling or webhook.

Nothing imports this module but the command line (``run``) and the tests; everything it wires
lives in the modules below it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from string import Template
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot import dates
from bot.config import Settings, redact, webhook_problem
from bot.database import StoreError
from bot.engine import Engine
from bot.knowledge import DataError, load
from bot.logs import setup_logging
from bot.store import Store
from bot.telegram import handlers
from bot.telegram.context import (
    CONTEXT_TYPES,
    BotApplication,
    BotContext,
    Services,
    attach,
    services_of,
)
from bot.telegram.delivery import schedule_all
from bot.telegram.http import AiohttpRequest
from bot.telegram.order import PerUserOrder
from bot.telegram.outbox import RESEND_EVERY, SETTLE_EVERY, resend_owed, settle, settle_now
from bot.telegram.polling import TolerantBot
from bot.telegram.ptb_memory import NoPersistenceApplication
from bot.telegram.send import Pacing, shared_pace
from bot.telegram.webhook import HandledQueue, limit_webhook_requests

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = [
    ("start", "Start and see the menu"),
    ("menu", "Guided tours and main topics"),
    ("help", "What I can do"),
    ("certifications", "Which certification fits me"),
    ("degrees", "Which degree to get"),
    ("path", "My next career step"),
    ("remind", "Set a reminder: /remind $example_iso CMM exam"),  # dated at start-up
    ("reminders", "My reminders"),
    ("timezone", "Set my time zone: /timezone Europe/Berlin"),
    ("export", "Everything stored about me"),
    ("forget", "Delete everything stored about me"),
    ("cancel", "Leave the current guided tour"),
]
MAX_CONCURRENT_UPDATES = 64
# A few connections serve 64 updates in flight (fewer cost throughput, more gain nothing:
# bench/throughput.py); a request waits for a free one up to POOL_TIMEOUT seconds.
CONNECTION_POOL_SIZE = 8
POOL_TIMEOUT = 30.0
DAY = 86400.0
START_TRIES = 4  # tries to reach the Bot API at start-up (getMe) before giving up
START_BACKOFF = 1.0  # seconds before the second try; doubled before each one after
RELOAD_POLL = 10.0  # seconds between looks at the shared data version (a /reload elsewhere)

NEW = filters.UpdateType.MESSAGE  # edited messages are ignored
HANDLERS: list[BaseHandler[Update, BotContext, None]] = [  # tried in this order
    CommandHandler(["report", "reload"], handlers.admin_command, filters=NEW),
    MessageHandler(NEW & filters.COMMAND, handlers.command),
    MessageHandler(NEW & filters.TEXT, handlers.text_message),
    MessageHandler(NEW & ~filters.TEXT, handlers.not_text),
    CallbackQueryHandler(handlers.button),
]
# the update types HANDLERS take: Telegram sends no others (edits, reactions, member changes)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def build_application(settings: Settings, engine: Engine) -> BotApplication:
    """The python-telegram-bot Application with every handler, in the order they are tried."""
    if settings.token is None:
        raise ValueError("build_application needs settings with a token")
    bot = TolerantBot(
        settings.token.get_secret_value(),
        base_url=settings.api_base_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        request=AiohttpRequest(CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT),
        get_updates_request=AiohttpRequest(1),
        rate_limiter=(
            Pacing(settings.rate_limit, shared_pace(engine.store, settings.rate_limit))
            if settings.rate_limit > 0
            else None
        ),
    )
    # webhook mode: Telegram's request is answered once its update was handled (HandledQueue)
    queue = HandledQueue() if settings.webhook_url else None
    builder = (
        ApplicationBuilder()
        .application_class(NoPersistenceApplication)
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(
            PerUserOrder(MAX_CONCURRENT_UPDATES, done=queue.handled if queue else None)
        )
        .post_init(post_init)
    )
    if queue is not None:
        builder = builder.update_queue(queue)
    app: BotApplication = builder.build()  # type: ignore[assignment]
    attach(app, Services(engine, settings))
    app.add_handlers(HANDLERS)
    app.add_error_handler(handlers.on_error)
    return app


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the public commands with Telegram and schedule the jobs and pending reminders.

    The command menu is cosmetic: if Telegram (or a Bot API server that lacks the method) refuses
    it, that is logged once and the bot serves anyway.
    """
    svc = services_of(application)
    today = dt.datetime.fromtimestamp(svc.engine.clock(), dt.UTC).date()
    examples = dates.examples(today)
    commands = [BotCommand(c, Template(d).substitute(examples)) for c, d in PUBLIC_COMMANDS]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as exc:
        log.warning(
            "setMyCommands failed (%s); serving without the command menu", redact(str(exc))
        )
    svc.engine.store.prune_updates()
    svc.data_version = svc.engine.store.data_version()
    job_queue = application.job_queue
    if job_queue is not None:
        if svc.engine.store.shared:  # several processes: follow each other's /reload
            job_queue.run_repeating(
                handlers.follow_reloads, interval=RELOAD_POLL, first=RELOAD_POLL
            )
        job_queue.run_repeating(handlers.prune_updates, interval=DAY, first=DAY)
        job_queue.run_repeating(settle, interval=SETTLE_EVERY, first=SETTLE_EVERY)
        job_queue.run_once(resend_owed, when=0, data=0.0)  # everything owed from before
        job_queue.run_repeating(resend_owed, interval=RESEND_EVERY, first=RESEND_EVERY)
    await schedule_all(application)


@asynccontextmanager
async def polling(app: BotApplication) -> AsyncIterator[BotApplication]:
    """Run ``app`` with long polling inside an already running event loop, as ``run`` would.

    For embedding the bot in another asyncio program, and for tests and benchmarks.
    """
    await app.initialize()
    await post_init(app)
    await app.start()
    if app.updater is None:
        raise RuntimeError("polling needs an application with an updater")
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        settle_now(services_of(app))
        await app.shutdown()


def run_command(settings: Settings) -> int:
    """``python -m bot run``: serve Telegram until SIGINT/SIGTERM."""
    setup_logging(settings.log_level)
    problem = settings.token_problem() or (settings.webhook_url and webhook_problem(settings))
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
    loop = asyncio.new_event_loop()  # run_polling/run_webhook go on in this loop
    asyncio.set_event_loop(loop)
    problem = loop.run_until_complete(connect(app, settings))
    if problem:
        loop.close()
        store.close()
        print(f"careerbot: {problem}", file=sys.stderr)
        return 2
    if settings.webhook_url:
        limit_webhook_requests()
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),  # as a proxy forwards it
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    settle_now(services_of(app))
    engine.store.close()
    log.info("careerbot stopped")
    return 0


async def connect(app: BotApplication, settings: Settings) -> str | None:
    """Initialize ``app`` (its getMe checks the token); None, or the one-line reason it cannot
    start. Network failures are tried again with a growing wait, logged; a refused token is not.
    On failure the HTTP sessions are closed again."""
    problem = ""
    for attempt in range(1, START_TRIES + 1):
        try:
            await app.initialize()
            return None
        except InvalidToken:
            problem = "Telegram rejected the token (TELEGRAM_BOT_TOKEN): 401 Unauthorized"
            break
        except NetworkError as exc:  # refused, unreachable, timed out, 5xx
            problem = f"cannot reach the Bot API at {settings.api_base_url} ({redact(str(exc))})"
            if attempt == START_TRIES:
                break
            wait = START_BACKOFF * 2 ** (attempt - 1)
            log.warning("%s; trying again in %.0f s", problem, wait)
            await asyncio.sleep(wait)
        except TelegramError as exc:
            problem = f"the Bot API at {settings.api_base_url} refused getMe ({redact(str(exc))})"
            break
    await app.bot.shutdown()
    return problem

"""The bottom of the Telegram channel: the services the handlers use and the typed context.

As in python-telegram-bot's ``contexttypesbot.py`` example, the application is built with
``ContextTypes(context=BotContext)``, so every handler and job receives a ``BotContext`` and
reaches the services as ``context.services``. The services are put into the application once,
by ``app.build_application``; :func:`services_of` is the one place that looks them up.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.charts import Pictures, cache_folder
from bot.config import Settings
from bot.engine import Engine

MAX_SENDS = 8  # reminder messages on their way at once (see delivery)
_KEY = "services"


@dataclass
class Photos:
    """The charts' pictures: the drawn files, one upload at a time per chart version, and the
    versions whose failure was already logged (see ``photos``)."""

    pictures: Pictures
    uploads: dict[str, asyncio.Lock] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)


@dataclass
class Services:
    """What the handlers and jobs need: the engine, the settings and the delivery bookkeeping."""

    engine: Engine
    settings: Settings
    owed_in_flight: set[int] = field(default_factory=set)  # outbox rows being sent right now
    settled: list[int] = field(default_factory=list)  # outbox rows delivered, not yet forgotten
    reminder_sends: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_SENDS))
    online_since: float = field(default_factory=time.time)  # reminders due before it are late
    # reminders whose "sent" mark / whose release the store could not commit yet (a full disk)
    unrecorded_sent: set[int] = field(default_factory=set)
    unrecorded_released: set[int] = field(default_factory=set)
    data_version: int = 0  # the store's data version this process serves (follow_reloads)
    photos: Photos = field(init=False)

    def __post_init__(self) -> None:
        folder = cache_folder(self.engine.store.path)  # charts/ beside the database
        self.photos = Photos(Pictures(self.engine.kb, folder))


BotData: TypeAlias = dict[str, Services]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """python-telegram-bot's callback context, with the bot's services as a typed attribute."""

    @property
    def services(self) -> Services:
        """The services of the running application."""
        return services_of(self.application)


BotApplication: TypeAlias = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[BotContext]
]
CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=dict)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services kept in ``application`` (by ``attach``)."""
    found: Services = application.bot_data[_KEY]
    return found


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Keep ``services`` in ``application``, for :func:`services_of` and ``context.services``."""
    application.bot_data[_KEY] = services

"""The Telegram channel: the only package that imports ``telegram`` or ``aiohttp``.

Layers, bottom first (a module imports only those below it): ``context`` (the services and the
typed callback context), ``http`` (the aiohttp client), ``render``, ``send`` (the one send
policy), ``delivery`` and ``photos`` (charts as Telegram photos), ``outbox``, ``handlers``;
``app`` only wires them and nothing imports it.
"""

import os

# Opt in to timedelta time periods before telegram is imported, so reading
# RetryAfter.retry_after raises no deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

"""How the bot talks HTTP to the Bot API: python-telegram-bot's ``BaseRequest`` on aiohttp.

python-telegram-bot ships an httpx-based request class and lets an application plug in another
(``ApplicationBuilder.request``). Under load httpx's client and connection pool took most of the
bot's CPU; aiohttp does the same work for much less (the figures: README, bench/README.md).
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class NotSent(TimedOut):
    """A request that timed out before any of it was sent: sending it again cannot duplicate it."""


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session with at most ``pool_size`` connections.

    Timeouts follow python-telegram-bot's meaning: ``pool_timeout`` is how long a request may wait
    for a free connection and ``connect_timeout`` how long to open one; a request that runs out of
    either was never sent and raises ``NotSent``. ``read_timeout`` bounds each wait for the
    answer (``TimedOut``: it may have arrived). aiohttp has no write timeout, so ``write_timeout``
    is accepted and not applied (the bot's requests are a few kilobytes).
    """

    def __init__(
        self,
        pool_size: int = 8,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        """Prepare a session of ``pool_size`` connections; it opens in ``initialize``."""
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        # aiohttp's own wait for a pooled connection shares one timeout with connecting; this
        # semaphore (as many as the connector's connections) makes the pool wait its own
        self._free = asyncio.Semaphore(pool_size)

    @property
    def read_timeout(self) -> float | None:
        """The default seconds to wait for an answer (long polling adds its own timeout)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running event loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and the body.

        A timeout left at ``BaseRequest.DEFAULT_NONE`` takes this object's default; ``None``
        means no limit.
        """
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(connect=connect, sock_read=read)
        try:
            async with asyncio.timeout(pool):
                await self._free.acquire()
        except TimeoutError:
            raise NotSent(f"Pool timeout: no connection free within {pool} s; not sent") from None
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise NotSent(f"could not connect within {connect} s; not sent") from exc
        except TimeoutError as exc:  # the answer did not come in time; it may have arrived
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        finally:
            self._free.release()


def _given(value: object, default: float | None) -> float | None:
    """A timeout python-telegram-bot passed: its own default, None (no limit) or seconds."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    if value is not None and not isinstance(value, int | float):
        raise TypeError(f"a timeout is a number of seconds or None, not {value!r}")
    return value


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The parameters as a form, as the Bot API takes them; multipart when files go along."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form

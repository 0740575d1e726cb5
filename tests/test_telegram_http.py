"""The aiohttp request class against the Bot API stand-in: what a timeout means, and files."""

from __future__ import annotations

import asyncio

import pytest
from botapi import DEFAULT_TOKEN, BotApiStandIn
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.telegram.http import AiohttpRequest, NotSent

USER = 4242


def bot_on(api: BotApiStandIn, request: AiohttpRequest) -> Bot:
    return Bot(DEFAULT_TOKEN, base_url=api.base_url, request=request)


async def test_messages_and_files_reach_the_api():
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api, bot_on(api, AiohttpRequest()) as bot:
        sent = await bot.send_message(USER, "<b>héllo</b> & 👋", parse_mode="HTML")
        assert sent.text == "héllo & 👋" and sent.chat.id == USER
        await bot.send_document(USER, b'{"a": 1}', filename="export.json", caption="yours")
        [call] = api.calls("sendDocument")
        assert call.document is not None and call.document.filename == "export.json"
        assert call.document.data == b'{"a": 1}' and call.params["caption"] == "yours"


async def test_a_request_that_finds_no_free_connection_is_not_sent():
    """With every connection busy past the pool timeout, the request fails as not sent and
    never reaches the API: the caller may safely send it again."""
    request = AiohttpRequest(pool_size=1, pool_timeout=0.3)
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api, bot_on(api, request) as bot:
        api.delay("sendMessage", 1.5, times=1)
        first = asyncio.create_task(bot.send_message(USER, "first"))
        await api.wait_for(method="sendMessage")
        with pytest.raises(NotSent):
            await bot.send_message(USER, "second")
        await first
        assert [c.text for c in api.calls("sendMessage")] == ["first"]


async def test_an_answer_that_comes_too_late_is_a_timeout_that_may_have_arrived():
    request = AiohttpRequest(read_timeout=0.3)
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api, bot_on(api, request) as bot:
        api.delay("sendMessage", 1.0, times=1)
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(USER, "slow")
        assert not isinstance(caught.value, NotSent)
        assert [c.text for c in api.calls("sendMessage")] == ["slow"], "it did arrive"


async def test_no_server_is_a_network_error():
    async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
        base_url = api.base_url
    request = AiohttpRequest(connect_timeout=1.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await Bot(DEFAULT_TOKEN, base_url=base_url, request=request).get_me()
    finally:
        await request.shutdown()

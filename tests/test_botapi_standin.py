"""The Bot API stand-in (tests/botapi.py) against the real python-telegram-bot and raw HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from botapi import DEFAULT_TOKEN, BotApiStandIn, parse_html, utf16_len
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

TOKEN = DEFAULT_TOKEN
USER = 4242


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # RetryAfter.retry_after warns (an error here) unless time periods are timedeltas
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=TOKEN) as stand_in:
        yield stand_in


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="again")]])
    await update.effective_message.reply_text(
        f"echo: {update.effective_message.text}", reply_markup=keyboard
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_html(f"<b>Hello</b>, {context.bot.username} &amp; co")


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer("pressed")
    await context.bot.send_message(query.message.chat.id, f"pressed {query.data}")


@pytest.fixture
async def app(api: BotApiStandIn) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = Application.builder().token(TOKEN).base_url(api.base_url).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(press))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


# --- with a polling Application ------------------------------------------------------------


async def test_echo_round_trip(api, app):
    assert app.bot.username == api.bot_username
    update_id = api.text_message(USER, "hello there")
    call = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == USER)
    assert call.params["text"] == "echo: hello there"
    assert call.reply_markup == {
        "inline_keyboard": [[{"text": "again", "callback_data": "again"}]]
    }
    assert call.buttons[0]["callback_data"] == "again"
    assert call.path == f"/bot{TOKEN}/sendMessage"
    assert call.ok and not call.failed
    assert call.result["from"]["is_bot"] is True
    await api.wait_delivered(update_id)
    assert [c.text for c in api.messages(USER)] == ["echo: hello there"]
    assert api.stats["getMe"] == 1 and api.stats["deleteWebhook"] == 1
    assert api.stats["getUpdates"] >= 1


async def test_command_html_reply(api, app):
    api.text_message(USER, "/start")
    call = await api.wait_for("sendMessage", chat_id=USER)
    assert call.params["parse_mode"] == "HTML"
    assert call.result["text"] == f"Hello, {api.bot_username} & co"
    assert call.result["entities"] == [{"type": "bold", "offset": 0, "length": 5}]


async def test_callback_is_answered_and_replied_to(api, app):
    api.text_message(USER, "hi")
    sent = await api.wait_for("sendMessage")
    message_id = sent.result["message_id"]
    api.callback(USER, "again", message_id)
    answer = await api.wait_for("answerCallbackQuery")
    assert answer.params == {"callback_query_id": api.last_callback_id, "text": "pressed"}
    reply = await api.wait_for("sendMessage", start=api.sent.index(answer))
    assert reply.ok and reply.result["text"] == "pressed again"
    assert api.message(USER, message_id)["text"] == "echo: hi"
    assert [c.text for c in api.messages(USER)] == ["echo: hi", "pressed again"]


async def test_group_mention_and_entities(api, app):
    api.group_message(USER, -100200, "what now?", mention_bot=True)
    call = await api.wait_for("sendMessage", chat_id=-100200)
    assert call.text == f"echo: @{api.bot_username} what now?"
    update = api.updates_pushed[-1]
    mention = f"@{api.bot_username}"
    assert update["message"]["entities"] == [
        {"type": "mention", "offset": 0, "length": len(mention)}
    ]
    assert update["message"]["chat"]["type"] == "group"


async def test_retry_after_and_forbidden(api, app):
    api.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(USER, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    failed = api.calls("sendMessage")[-1]
    assert failed.failed and failed.status == 429
    assert failed.error == "Too Many Requests: retry after 1"

    api.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(USER, "blocked once")
    await app.bot.send_message(USER, "fine again")

    api.block_user(USER)
    with pytest.raises(Forbidden):
        await app.bot.send_message(USER, "blocked")
    api.unblock_user(USER)
    await app.bot.send_message(USER, "unblocked")
    assert api.texts(USER) == ["fine again", "unblocked"]
    assert len(api.messages(USER, include_failed=True)) == 5


async def test_bad_gateway_and_dropped_connection(api, app):
    api.fail_next("sendMessage", 502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(USER, "x")
    api.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await app.bot.send_message(USER, "x")
    assert [c.status for c in api.calls("sendMessage")] == [502, 502, 0]
    await app.bot.send_message(USER, "through")
    assert api.texts(USER) == ["through"]


async def test_slow_method_times_out(api, app):
    api.delay("sendMessage", 1.0, times=1)
    with pytest.raises(TimedOut):
        await app.bot.send_message(USER, "slow", read_timeout=0.2)
    assert api.texts(USER) == ["slow"]  # taken in, like Telegram does
    started = time.monotonic()
    await app.bot.send_message(USER, "fast")
    assert time.monotonic() - started < 0.5


async def test_strict_checks(api, app):
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(USER, "a <br> b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await app.bot.send_message(USER, "<b>open", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(USER, "x" * 4097)
    await app.bot.send_message(USER, "&lt;" * 4096, parse_mode=ParseMode.HTML)  # 4096 after parse
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(USER, "x", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query("123")


async def test_document_commands_and_unknown_method(api, app):
    message = await app.bot.send_document(
        USER, b'{"a": 1}', filename="careerbot-export.json", caption="Your data"
    )
    assert message.document is not None
    assert message.document.file_name == "careerbot-export.json"
    call = api.calls("sendDocument")[-1]
    assert call.document is not None
    assert call.document.filename == "careerbot-export.json"
    assert call.document.data == b'{"a": 1}'
    assert call.params["caption"] == "Your data" and call.params["chat_id"] == USER
    assert api.messages(USER)[-1] is call

    await app.bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert api.commands == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await app.bot.set_my_commands([("Bad-Name", "x")])

    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendFancyThing", api_kwargs={"chat_id": USER})
    assert api.calls("sendFancyThing")[-1].error == "Not Found: method not found"


async def test_other_update_kinds_deserialise(api, app):
    seen: list[Update] = []

    async def collect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)

    app.add_handler(MessageHandler(filters.ALL, collect), group=1)
    api.text_message(USER, "first")
    await api.wait_for("sendMessage")
    ids = [api.sticker(USER), api.photo(USER, caption="pic"), api.edited_message(USER, "fixed")]
    await api.wait_delivered(ids[-1])
    for _ in range(50):
        if len(seen) == 4:
            break
        await asyncio.sleep(0.02)
    assert seen[1].message is not None and seen[1].message.sticker is not None
    assert seen[2].message is not None and seen[2].message.photo[-1].width == 800
    assert seen[2].message.caption == "pic"
    edited = seen[3].edited_message
    assert edited is not None and edited.text == "fixed"
    assert edited.message_id == seen[0].message.message_id  # type: ignore[union-attr]


# --- without an Application ----------------------------------------------------------------


async def test_wrong_token_is_unauthorized(api):
    # A failed initialize() leaves the Bot "not initialized", so its shutdown() would not close
    # the HTTP clients: close them here ourselves.
    requests = HTTPXRequest(), HTTPXRequest()
    bot = Bot(
        "654321:" + "B" * 35,
        base_url=api.base_url,
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        for request in requests:
            await request.shutdown()
    assert api.sent[-1].status == 401 and api.sent[-1].failed


async def test_long_polling_offset_limit_allowed_updates(api):
    async with httpx.AsyncClient(base_url=api.url) as client:
        started = time.monotonic()
        answer = await client.post("getUpdates", data={"timeout": "0"})
        assert answer.json() == {"ok": True, "result": []}
        assert time.monotonic() - started < 0.5

        async def later() -> int:
            await asyncio.sleep(0.2)
            return api.text_message(USER, "/help extra")

        pusher = asyncio.create_task(later())
        started = time.monotonic()
        answer = await client.post("getUpdates", data={"timeout": "3"})
        elapsed = time.monotonic() - started
        update_id = await pusher
        assert 0.15 < elapsed < 1.5  # woke up by the new update, not the timeout
        (update,) = answer.json()["result"]
        assert update["update_id"] == update_id
        assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]

        started = time.monotonic()
        answer = await client.post("getUpdates", json={"timeout": 0.3, "offset": update_id + 1})
        assert answer.json()["result"] == []
        assert time.monotonic() - started >= 0.25
        assert api.pending_updates == []

        first = api.text_message(USER, "a")
        api.text_message(USER, "b")
        api.callback(USER, "cb", 1)
        answer = await client.get("getUpdates", params={"limit": "1"})
        assert [u["update_id"] for u in answer.json()["result"]] == [first]
        answer = await client.post(
            "getUpdates", data={"offset": str(first + 1), "allowed_updates": '["callback_query"]'}
        )
        (only,) = answer.json()["result"]
        assert only["callback_query"]["data"] == "cb"
        assert api.calls("getUpdates")[-1].params["allowed_updates"] == ["callback_query"]

        answer = await client.post("noSuchMethod")
        assert answer.status_code == 404
        assert answer.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        answer = await client.post(f"{api.base_url}wrong:token/getMe")
        assert answer.status_code == 401
        assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert api.connections == 1  # one keep-alive connection served everything


async def test_newer_poll_terminates_older_one(api):
    async with (
        httpx.AsyncClient(base_url=api.url) as one,
        httpx.AsyncClient(base_url=api.url) as two,
    ):
        first = asyncio.create_task(one.post("getUpdates", data={"timeout": "3"}))
        await asyncio.sleep(0.1)
        second = await two.post("getUpdates", data={"timeout": "0"})
        assert second.json()["ok"] is True
        answer = await first
        assert answer.status_code == 409
        assert "terminated by other getUpdates request" in answer.json()["description"]


async def test_wait_for_times_out_with_context(api):
    with pytest.raises(TimeoutError, match="no matching call"):
        await api.wait_for("sendMessage", timeout=0.1)


def test_parse_html_like_telegram():
    text, entities = parse_html('<b>Hi</b> <a href="https://x.org/?a=1&amp;b=2">link</a> 😀&#33;')
    assert text == "Hi link 😀!"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.org/?a=1&b=2"},
    ]
    assert utf16_len("😀") == 2

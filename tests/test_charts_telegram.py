"""Charts on Telegram, against the stand-in Bot API: the text answer, then the photo; uploaded
once per bot (multipart the first time, the stored file_id after); failures never cost the text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botapi import Call
from test_telegram import Running, bot_on_stand_in

from bot.charts import draw
from bot.knowledge import Knowledge
from bot.telegram.send import BACKOFF, SEND_ATTEMPTS

USER, OTHER = 5001, 5002
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def running(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=0) as bot:
        yield bot


async def ask(
    bot: Running, text: str, user: int = USER, photo: bool = True
) -> tuple[list[Call], list[Call]]:
    """Send ``text``; return the bot's text messages and photos to that chat, in order.

    With ``photo``, wait for a sendPhoto attempt first (a first drawing imports matplotlib)."""
    start = len(bot.api.sent)
    await bot.say(text, user)
    if photo:
        await bot.api.wait_for(method="sendPhoto", chat_id=user, start=start, timeout=60)
    await bot.quiet(start, gap=0.3)
    if any(c.method == "sendPhoto" and not c.ok for c in bot.api.sent[start:]):
        # the send policy waits up to BACKOFF * 2**(SEND_ATTEMPTS - 1) s between tries
        await bot.quiet(start, gap=BACKOFF * 2**SEND_ATTEMPTS)
    mine = [c for c in bot.api.sent[start:] if c.chat_id == user and c.ok]
    return [c for c in mine if c.method == "sendMessage"], [
        c for c in mine if c.method == "sendPhoto"
    ]


def photos_failed(bot: Running) -> list[Call]:
    return [c for c in bot.api.calls("sendPhoto") if not c.ok]


async def test_answer_then_photo_uploaded_once_then_sent_by_file_id(running: Running):
    texts, photos = await ask(running, "salary?")
    assert len(texts) == 1 and "$101,340" in (texts[0].text or "")  # the full text, on its own
    assert "Show as picture" in [b["text"] for b in texts[0].buttons]
    [first] = photos
    assert running.api.sent.index(texts[0]) < running.api.sent.index(first)  # text goes first
    assert first.photo is not None and first.photo.data.startswith(PNG)  # multipart upload
    caption = first.text or ""
    assert len(caption) <= 1024 and "Sources:" in caption and "Zippia" in caption
    file_id = first.result["photo"][-1]["file_id"]

    _, again = await ask(running, "what's the median salary", user=OTHER)
    [second] = again
    assert second.photo is None and second.params["photo"] == file_id  # no second upload
    stored = running.engine.store.db.execute("SELECT file_id FROM chart_files").fetchall()
    assert stored == [(file_id,)]


async def test_show_as_picture_sends_the_photo_alone(running: Running):
    texts, photos = await ask(running, "what are the career levels")
    [answer], [uploaded] = texts, photos
    button = next(b for b in answer.buttons if b["text"] == "Show as picture")
    start = len(running.api.sent)
    running.api.callback(USER, button["callback_data"], answer.result["message_id"])
    pressed = await running.api.wait_for(method="sendPhoto", start=start)
    await running.quiet(start)
    assert pressed.params["photo"] == uploaded.result["photo"][-1]["file_id"]
    assert not [c for c in running.api.sent[start:] if c.method == "sendMessage"]


async def test_an_upload_that_fails_once_is_retried_by_the_send_policy(running: Running):
    running.api.fail_next("sendPhoto", 500)
    texts, photos = await ask(running, "how do I become a nursing home administrator")
    assert "state-approved training program" in "".join(t.text or "" for t in texts)
    assert len(photos_failed(running)) == 1
    assert len(photos) == 1 and photos[0].photo is not None  # the same answer's picture


async def test_a_failed_upload_keeps_the_text_is_logged_once_and_is_retried(
    running: Running, caplog: pytest.LogCaptureFixture
):
    # every try of two answers' uploads fails: the send policy gives up on each
    running.api.fail_next("sendPhoto", 500, times=2 * SEND_ATTEMPTS)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.photos"):
        first, _ = await ask(running, "how do I become a nursing home administrator")
        second, _ = await ask(running, "nursing home administrator license")
    assert len(photos_failed(running)) == 2 * SEND_ATTEMPTS
    for texts in (first, second):
        assert "state-approved training program" in "".join(t.text or "" for t in texts)
    logged = [r for r in caplog.records if "nha_road" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    _, photos = await ask(running, "nursing home administrator license")
    assert len(photos) == 1 and photos[0].photo is not None  # uploaded now, nothing stored before


async def test_a_refused_file_id_is_uploaded_again(running: Running):
    await ask(running, "which states pay the most")
    running.engine.store.db.execute("UPDATE chart_files SET file_id = 'gone'")
    _, photos = await ask(running, "best paying states", user=OTHER)
    assert [c.params["photo"] for c in photos_failed(running)] == ["gone"]
    assert len(photos) == 1 and photos[0].photo is not None
    [(file_id,)] = running.engine.store.db.execute("SELECT file_id FROM chart_files").fetchall()
    assert file_id == photos[0].result["photo"][-1]["file_id"]


async def test_a_chart_that_cannot_be_drawn_leaves_the_text_and_is_logged_once(
    running: Running, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args: object) -> None:
        raise RuntimeError("render error")

    monkeypatch.setattr(draw, "render", broken)
    with caplog.at_level(logging.WARNING):
        first, photos = await ask(running, "what are the career levels", photo=False)
        second, more = await ask(running, "what are the career levels", user=OTHER, photo=False)
    assert photos == more == [] and not running.api.calls("sendPhoto")
    for texts in (first, second):
        assert "0-3 years" in (texts[0].text or "")
    logged = [r for r in caplog.records if "career_ladder" in r.getMessage()]
    assert len(logged) == 1 and "render error" in logged[0].getMessage()
    button = next(b for b in first[0].buttons if b["text"] == "Show as picture")
    start = len(running.api.sent)
    running.api.callback(USER, button["callback_data"], first[0].result["message_id"])
    words = await running.api.wait_for(method="sendMessage", chat_id=USER, start=start)
    assert "Assistant Health Services Manager: 0-3 years" in (words.text or "")


async def test_two_users_at_once_share_one_upload(running: Running):
    start = len(running.api.sent)
    running.api.text_message(USER, "salary?")
    running.api.text_message(OTHER, "how much do they earn")
    for user in (USER, OTHER):
        await running.api.wait_for(method="sendPhoto", chat_id=user, start=start, timeout=60)
    sent = running.api.calls("sendPhoto")
    assert len(sent) == 2 and all(c.ok for c in sent)
    assert sum(c.photo is not None for c in sent) == 1  # the other reused its file_id

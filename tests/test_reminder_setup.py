"""Reminders in plain words: a request typed anywhere, the questions it still needs, one
confirmation with Save / Change, tappable "did you mean"s, and changing a saved reminder.

The engine on a real SQLite file with a clock fixed on Wednesday 2 December 2026, 15:00 UTC; the
last tests run the same flows through the real Application on the Bot API stand-in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_telegram import USER, Running, bot_on_stand_in, button_data

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.replies import Turn
from bot.store import Store

NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def bot(kb: Knowledge, store: Store) -> Engine:
    return Engine(kb, store, clock=NOW.timestamp)


def data(turn: Turn, label: str) -> str:
    """The data of the turn's button whose label starts with ``label``."""
    found = [b.data for b in turn.buttons if b.label.startswith(label)]
    assert found, f"no button {label!r} in {[b.label for b in turn.buttons]}"
    return found[0]


def reminders(bot: Engine, user: str) -> list[tuple[str, str, str, str, str | None]]:
    return bot.store.db.execute(
        "SELECT title, kind, local_date, local_time, entry FROM reminders WHERE user_id = ?",
        (user,),
    ).fetchall()


def pending(bot: Engine, user: str) -> list[dt.datetime]:
    return sorted(
        dt.datetime.fromtimestamp(n.fire_at, dt.UTC)
        for n in bot.reminders.pending()
        if n.user_id == user
    )


def is_confirmation(turn: Turn) -> bool:
    return "Save it?" in turn.plain() and any(b.label == "Save" for b in turn.buttons)


# --- a request, its questions, the confirmation ----------------------------------------------


def test_a_month_without_a_day_asks_only_the_day_then_confirms_before_saving(bot: Engine):
    turn = bot.handle("a", "remind me to renew my FACHE next june")
    assert "Which day in June 2027?" in turn.plain()
    assert "article" not in turn.plain() and reminders(bot, "a") == []
    turn = bot.handle("a", "the 14th")
    text = turn.plain()
    assert is_confirmation(turn) and "Reminder: FACHE renewal (renewal)" in text
    assert "Monday 14 June 2027, 09:00 (UTC)" in text
    assert "No time given, so 09:00 (UTC)." in text, "the default time is said"
    assert reminders(bot, "a") == [], "nothing is stored before Save"
    turn = bot.press("a", data(turn, "Save"))
    assert "Saved: FACHE renewal" in turn.plain()
    assert reminders(bot, "a") == [
        ("FACHE renewal", "renewal", "2027-06-14", "09:00", "cert_fache")
    ]
    assert pending(bot, "a")[-1] == dt.datetime(2027, 6, 14, 9, tzinfo=dt.UTC)


def test_a_request_saying_everything_asks_nothing(bot: Engine):
    turn = bot.handle("b", "my CPHQ exam is on 3 May, ping me two weeks before")
    assert is_confirmation(turn)
    assert "Monday 3 May 2027, 09:00" in turn.plain() and "2 weeks before" in turn.plain()
    bot.press("b", data(turn, "Save"))
    assert reminders(bot, "b") == [("CPHQ exam", "exam", "2027-05-03", "09:00", "cert_cphq")]
    assert pending(bot, "b") == [dt.datetime(2027, 4, 19, 9, tzinfo=dt.UTC)]


def test_change_re_asks_one_field_and_comes_back_to_the_confirmation(bot: Engine):
    turn = bot.handle("c", "remind me about my CMM exam on March 14 at 9am")
    assert is_confirmation(turn) and "09:00" in turn.plain()
    turn = bot.press("c", data(turn, "Change"))
    assert "What should I change?" in turn.plain()
    turn = bot.press("c", data(turn, "Time"))
    assert "At what time" in turn.plain()
    turn = bot.handle("c", "7:30")
    assert is_confirmation(turn) and "Sunday 14 March 2027, 07:30" in turn.plain()
    assert reminders(bot, "c") == []
    turn = bot.press("c", data(turn, "Change"))
    turn = bot.press("c", data(turn, "What"))
    turn = bot.handle("c", "Practice boards")
    assert is_confirmation(turn) and "Reminder: Practice boards (exam)" in turn.plain()
    save = data(turn, "Save")
    bot.press("c", save)
    assert reminders(bot, "c") == [("Practice boards", "exam", "2027-03-14", "07:30", None)]
    assert "earlier conversation" in bot.press("c", save).plain(), "one Save, one reminder"
    assert len(reminders(bot, "c")) == 1


def test_two_readings_of_a_date_are_two_buttons(bot: Engine):
    turn = bot.handle("d", "remind me of my CPHQ renewal on 3/4")
    assert "Did you mean Thu 4 Mar 2027 or Sat 3 Apr 2027?" in turn.plain()
    turn = bot.press("d", data(turn, "Sat 3 Apr 2027"))
    assert is_confirmation(turn) and "Saturday 3 April 2027" in turn.plain()
    assert "4 March" not in turn.plain(), "the reading not picked is not restated"
    bot.press("d", data(turn, "Save"))
    assert reminders(bot, "d")[0][2] == "2027-04-03"


def test_a_date_that_cannot_be_used_is_said_and_asked_again(bot: Engine):
    turn = bot.handle("e", "remind me about my exam on 30 February")
    assert "not a real date" in turn.plain() and "Which date?" in turn.plain()
    assert "For example 2027-03-14, 14 March 2027, 3/14/2027" in turn.plain(), "dated from NOW"
    turn = bot.handle("e", "March 3")
    assert is_confirmation(turn) and "Wednesday 3 March 2027" in turn.plain()


def test_a_typed_date_with_another_reading_offers_it_as_a_button(bot: Engine):
    turn = bot.handle("f", "/remind")
    turn = bot.press("f", data(turn, "CMM"))
    turn = bot.press("f", data(turn, "Exam"))
    turn = bot.handle("f", "next friday")
    assert "Friday 4 December 2026, not Friday 11 December 2026" in turn.plain()
    turn = bot.press("f", data(turn, "No, Fri 11 Dec 2026"))
    assert (
        "Changed: the date is Fri 11 Dec 2026." in turn.plain() and "At what time" in turn.plain()
    )
    turn = bot.press("f", data(turn, "09:00"))
    turn = bot.press("f", data(turn, "At the time"))
    turn = bot.press("f", data(turn, "Done"))
    turn = bot.press("f", data(turn, "No, just once"))
    assert is_confirmation(turn) and "Friday 11 December 2026" in turn.plain()


@pytest.mark.parametrize(
    ("question", "entry"),
    [("how long is FACHE valid", "cert_fache"), ("what does renewing the CPHQ involve", None)],
)
def test_questions_about_renewals_still_get_the_knowledge_answer(
    bot: Engine, kb: Knowledge, question: str, entry: str | None
):
    turn = bot.handle("g", question)
    assert turn.matched and "New reminder" not in turn.plain()
    assert bot.store.user("g").dialog is None
    if entry:
        assert turn.intent == entry or kb.entries[entry].title in turn.plain()
    assert "Sources:" in turn.plain()


def test_a_request_in_a_group_is_refused_and_starts_nothing(bot: Engine):
    turn = bot.handle("h", "remind me about my CMM exam on March 14", private=False)
    assert "private chat" in turn.plain() and bot.store.user("h").dialog is None


def test_a_request_mid_tour_starts_the_set_up_instead_of_an_answer(bot: Engine):
    bot.handle("i", "/certifications")
    turn = bot.handle("i", "remind me to renew my cphq on 1 june")
    assert is_confirmation(turn) and "Tuesday 1 June 2027" in turn.plain()


# --- time-zone suggestions -----------------------------------------------------------------


def test_a_time_zone_guess_is_a_button_that_sets_it(bot: Engine):
    turn = bot.handle("z", "/timezone new york")
    assert "Did you mean America/New_York?" in turn.plain()
    turn = bot.press("z", data(turn, "Set America/New_York"))
    assert "America/New_York" in turn.plain() and bot.store.user("z").tz == "America/New_York"
    forged = bot.press("z", "zs:Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in forged.plain() and bot.store.user("z").tz == "America/New_York"
    assert "private chat" in bot.press("z", "zs:Europe/Paris", private=False).plain()
    assert bot.store.user("z").tz == "America/New_York"


# --- changing a saved reminder ---------------------------------------------------------------


def saved_reminder(bot: Engine, user: str) -> tuple[int, Turn]:
    bot.handle(user, "/remind 2027-03-14 10:00 CMM exam")
    [(reminder,)] = bot.store.db.execute(
        "SELECT id FROM reminders WHERE user_id = ?", (user,)
    ).fetchall()
    return int(reminder), bot.handle(user, "/reminders")


def test_change_date_and_time_recomputes_the_messages(bot: Engine):
    reminder, listing = saved_reminder(bot, "j")
    assert pending(bot, "j")[-1] == dt.datetime(2027, 3, 14, 10, tzinfo=dt.UTC)
    turn = bot.press("j", data(listing, "Change date/time 1."))
    assert "CMM exam: Sunday 14 March 2027, 10:00 (UTC)" in turn.plain()
    turn = bot.handle("j", "april 2")
    turn = bot.handle("j", "8:15")
    assert "Changed: CMM exam" in turn.plain() and "Friday 2 April 2027, 08:15" in turn.plain()
    assert reminders(bot, "j") == [("CMM exam", "exam", "2027-04-02", "08:15", "cert_cmm")]
    assert pending(bot, "j") == [
        dt.datetime(2027, 3, 26, 8, 15, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 1, 8, 15, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 2, 8, 15, tzinfo=dt.UTC),
    ], "the old messages are gone, the new ones are pending"
    assert {n.reminder_id for n in turn.notifications} == {reminder}


def test_keep_the_date_change_only_the_time(bot: Engine):
    _, listing = saved_reminder(bot, "k")
    turn = bot.press("k", data(listing, "Change date/time 1."))
    turn = bot.press("k", data(turn, "Keep Sun 14 Mar 2027"))
    turn = bot.handle("k", "18:00")
    assert reminders(bot, "k")[0][2:4] == ("2027-03-14", "18:00")


def test_rename(bot: Engine):
    _, listing = saved_reminder(bot, "l")
    turn = bot.press("l", data(listing, "Rename 1."))
    assert "Renaming: CMM exam" in turn.plain()
    turn = bot.handle("l", "CMM boards (second try)")
    assert "Renamed: CMM boards (second try)" in turn.plain()
    assert reminders(bot, "l")[0][0] == "CMM boards (second try)"
    assert len(pending(bot, "l")) == 3, "a new name leaves the messages as they were"


def test_change_and_rename_only_the_presser_s_own_and_only_in_private(bot: Engine):
    reminder, listing = saved_reminder(bot, "owner")
    before = reminders(bot, "owner"), pending(bot, "owner")
    for forged in (f"rw:{reminder}", f"rr:{reminder}"):
        turn = bot.press("other", forged)
        assert "earlier conversation" in turn.plain(), forged
        assert bot.store.user("other").dialog is None
    for button in ("Change date/time 1.", "Rename 1."):
        turn = bot.press("owner", data(listing, button), private=False)
        assert "private chat" in turn.plain() and bot.store.user("owner").dialog is None
    # a run started by a forged "d:" button carries no reminder: nothing changes
    turn = bot.press("other", "d:reminder_rename")
    turn = bot.handle("other", "mine now")
    assert "which reminder" in turn.plain()
    assert (reminders(bot, "owner"), pending(bot, "owner")) == before


# --- the acceptance check: ten requests written as people text -------------------------------

TEXTED = [
    # (the request, what the user answers to each question asked, if any)
    ("pls remind me my cmm test is on april 9th", []),
    ("can u remind me to do my ceus before end of the month", []),
    ("Remind me FACHE renewal due sept 30, a month before pls", []),
    ("remind me abt the CHFP exam next tuesday at 2pm", []),
    ("set a reminder: CPHQ recert in august", ["the 20th"]),
    ("remind me to renew my nha license on 1/6", ["Mon 1 Jun 2027"]),
    ("reminder for my cphrm exam 2027-02-11, 1 day before and on the day", []),
    ("remind me in 2 weeks to email my preceptor", []),
    ("ping me tomorrow morning about the ACHE application", []),
    ("remind me every year on 15 jan to renew my CMPE", []),
]


@pytest.mark.parametrize(("request_text", "answers"), TEXTED)
def test_requests_as_people_text_end_saved_after_at_most_two_questions(
    bot: Engine, request_text: str, answers: list[str]
):
    user = f"t{TEXTED.index((request_text, answers))}"
    turn = bot.handle(user, request_text)
    questions = 0
    for answer in answers:
        assert not is_confirmation(turn)
        questions += 1
        labels = [b.label for b in turn.buttons]
        turn = (
            bot.press(user, data(turn, answer)) if answer in labels else bot.handle(user, answer)
        )
    assert questions <= 2 and is_confirmation(turn), turn.plain()
    turn = bot.press(user, data(turn, "Save"))
    assert "Saved:" in turn.plain() and len(reminders(bot, user)) == 1


# --- through Telegram --------------------------------------------------------------------------


@pytest.fixture
async def running(kb: Knowledge, tmp_path: Path) -> AsyncIterator[Running]:
    async with bot_on_stand_in(kb, tmp_path / "bot.db", rate_limit=0) as bot:
        yield bot


def stored(running: Running) -> list[tuple[str, str, str]]:
    return running.engine.store.db.execute(
        "SELECT title, local_date, local_time FROM reminders WHERE user_id = ?", (str(USER),)
    ).fetchall()


async def test_telegram_request_confirm_save_change_and_rename(running: Running):
    today = dt.date.today()  # on the real clock: "next june" is the coming June
    june = f"{today.year + (today.month >= 6)}-06-14"
    [question] = await running.say("remind me to renew my FACHE next june")
    assert "Which day in June" in (question.text or "")
    [confirmation] = await running.say("14")
    assert "Save it?" in (confirmation.text or "") and stored(running) == []
    buttons = button_data(confirmation)
    assert list(buttons) == ["Save", "Change", "Cancel"]
    [saved] = await running.press(buttons["Save"], confirmation.result["message_id"])
    assert "Saved: FACHE renewal" in (saved.text or "")
    assert [row[:2] for row in stored(running)] == [("FACHE renewal", june)]

    [listing] = await running.say("/reminders")
    buttons = button_data(listing)
    assert {"Change date/time 1.", "Rename 1.", "Delete 1. FACHE renewal"} <= set(buttons)
    [asked] = await running.press(buttons["Change date/time 1."], listing.result["message_id"])
    keep = next(v for k, v in button_data(asked).items() if k.startswith("Keep"))
    [time_asked] = await running.press(keep, asked.result["message_id"])
    assert "At what time" in (time_asked.text or "")
    [changed] = await running.say("16:45")
    assert "Changed: FACHE renewal" in (changed.text or "")
    assert stored(running) == [("FACHE renewal", june, "16:45")]
    fire = [n.fire_at for n in running.engine.reminders.pending()]
    at = dt.datetime.fromisoformat(f"{june} 16:45+00:00").timestamp()
    assert at in fire and all(f <= at for f in fire)

    renaming = await running.press(buttons["Rename 1."], listing.result["message_id"])
    assert "Renaming: FACHE renewal" in (renaming[0].text or "")
    [renamed] = await running.say("FACHE recertification")
    assert "Renamed: FACHE recertification" in (renamed.text or "")

    # the same buttons pressed in a group do nothing there
    [refused] = await running.press_in(buttons["Rename 1."], -100555)
    assert "private chat" in (refused.text or "")
    assert stored(running) == [("FACHE recertification", june, "16:45")]


async def test_telegram_time_zone_suggestion_button(running: Running):
    [guess] = await running.say("/timezone new york")
    buttons = button_data(guess)
    assert "Did you mean America/New_York?" in (guess.text or "")
    [done] = await running.press(buttons["Set America/New_York"], guess.result["message_id"])
    assert "America/New_York" in (done.text or "")
    assert running.engine.store.user(str(USER)).tz == "America/New_York"

"""Reminders: set in one line or guided, in the user's zone, listed, snoozed, repeated, kept."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.reminders.models import CLAIM_LEASE, MAX_REMINDERS
from bot.store import Store

pytestmark = pytest.mark.both_backends  # every test on SQLite and on PostgreSQL

UTC = dt.UTC
START = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: dt.datetime = START) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, moment: dt.datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bot(kb: Knowledge, store: Store, clock: Clock) -> Engine:
    return Engine(kb, store, clock=clock)


def fire_times(bot: Engine, user: str) -> list[dt.datetime]:
    return sorted(
        dt.datetime.fromtimestamp(n.fire_at, UTC)
        for n in bot.reminders.pending()
        if n.user_id == user
    )


def count(bot: Engine, user: str) -> int:
    return bot.store.db.execute(
        "SELECT count(*) FROM reminders WHERE user_id = ?", (user,)
    ).fetchone()[0]


def test_one_line_reminder_defaults_to_nine_utc_and_says_so(bot: Engine):
    turn = bot.handle("a", "/remind 2027-03-14 CMM exam")
    text = turn.plain()
    assert turn.matched and "Saved: CMM exam" in text
    assert "14 March 2027, 09:00 (UTC)" in text and "/timezone" in text
    assert fire_times(bot, "a") == [
        dt.datetime(2027, 3, 7, 9, tzinfo=UTC),
        dt.datetime(2027, 3, 13, 9, tzinfo=UTC),
        dt.datetime(2027, 3, 14, 9, tzinfo=UTC),
    ]
    row = bot.store.db.execute("SELECT entry, kind FROM reminders WHERE user_id = 'a'").fetchone()
    assert row == ("cert_cmm", "exam")
    assert len(turn.notifications) == 3, "the channel is told what to schedule"


def example_of(text: str) -> str:
    """The one-line /remind example a reply shows."""
    return text[text.index("/remind 2") :].split("\n")[0].split(" (")[0]


@pytest.mark.parametrize("today", [START, dt.datetime(2031, 12, 20, 8, 0, tzinfo=UTC)])
def test_the_examples_shown_are_dated_ahead_of_today_and_work(bot: Engine, clock: Clock, today):
    clock.at(today)
    shown = [
        example_of(bot.handle("x", "/reminders").plain()),  # none yet: how to set one
        example_of(bot.handle("x", "/remind someday CMM exam").plain()),  # the usage
    ]
    for user, example in enumerate(shown):
        day = dt.date.fromisoformat(example.split()[1])
        assert today.date() + dt.timedelta(days=60) < day < today.date() + dt.timedelta(days=125)
        assert "Saved: CMM exam" in bot.handle(f"y{user}", example).plain()


def test_time_zone_and_daylight_saving(bot: Engine):
    assert "Europe/Berlin" in bot.handle("b", "/timezone Europe/Berlin").plain()
    bot.handle("b", "/remind 2027-04-01 09:00 FACHE renewal")
    # 1 April is summer time (UTC+2); a week and a day before are still winter time (UTC+1),
    # and the reminder keeps the wall time: 09:00 Berlin each time.
    assert fire_times(bot, "b") == [
        dt.datetime(2027, 3, 25, 8, tzinfo=UTC),
        dt.datetime(2027, 3, 31, 7, tzinfo=UTC),
        dt.datetime(2027, 4, 1, 7, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/remind 2025-01-01 CMM exam", "in the past"),
        ("/remind 2027-02-30 CMM exam", "not a real date"),
        ("/remind 2027-03-14 25:00 CMM exam", "not a valid time"),
        ("/remind 2027-03-14", "needs a title"),
        ("/remind 2027-03-14 09:00", "needs a title"),
        ("/remind 2027-03-14 " + "x" * 500, "under 200"),
        ("/remind soonish CMM exam", "couldn't read"),
    ],
)
def test_bad_reminders_are_refused_clearly_and_change_nothing(bot: Engine, command, says):
    turn = bot.handle("c", command)
    assert says in turn.plain()
    assert example_of(turn.plain()) == "/remind 2027-02-14 09:00 CMM exam", "dated from START"
    assert count(bot, "c") == 0 and not bot.reminders.pending()


def test_unknown_zone_suggests_and_keeps_the_old_one(bot: Engine):
    turn = bot.handle("d", "/timezone Europe/Berln")
    assert "Europe/Berlin" in turn.plain()
    assert bot.store.user("d").tz is None


def test_at_most_fifty_reminders(bot: Engine):
    for i in range(MAX_REMINDERS):
        assert "Saved" in bot.handle("e", f"/remind 2027-03-14 task {i}").plain()
    turn = bot.handle("e", "/remind 2027-03-14 one too many")
    assert str(MAX_REMINDERS) in turn.plain() and count(bot, "e") == MAX_REMINDERS


def test_reminder_commands_in_a_group_are_refused(bot: Engine, kb: Knowledge):
    turn = bot.handle("f", "/remind 2027-03-14 CMM exam", private=False)
    assert turn.plain() == kb.responses["private_only"].text
    assert count(bot, "f") == 0


def test_listing_and_deleting(bot: Engine):
    bot.handle("g", "/remind 2027-05-01 CPHQ exam")
    bot.handle("g", "/remind 2027-03-01 CMM renewal")
    listing = bot.handle("g", "/reminders")
    text = listing.plain()
    assert text.index("CMM renewal") < text.index("CPHQ exam"), "soonest first"
    delete = next(b.data for b in listing.buttons if "CMM" in b.label)
    after = bot.press("g", delete)
    assert "CMM renewal" not in after.plain() and "CPHQ exam" in after.plain()
    assert all(
        n.fire_at >= dt.datetime(2027, 4, 1, tzinfo=UTC).timestamp()
        for n in bot.reminders.pending()
    )
    assert bot.press("h", delete).plain() == bot.response("stale_button").text


def test_due_while_down_is_sent_once_and_marked_late(bot: Engine, clock: Clock):
    bot.handle("i", "/remind 2027-03-14 10:00 CMM exam")
    clock.at(dt.datetime(2027, 3, 20, tzinfo=UTC))  # the bot was off for all three
    due = bot.reminders.pending(until=clock())
    assert len(due) == 3
    message = bot.reminders.message(due[-1], online_since=clock())
    assert message.plain().startswith("⏰ Reminder\n(Late: this was due 14 Mar 2027 10:00")
    assert "CMM" in message.plain() and message.sources, "it adds what the documents say"
    for n in due:
        bot.reminders.mark_sent(n.id)
    assert bot.reminders.pending() == []
    assert bot.reminders.mark_sent(due[0].id) == [], "a second mark is a no-op"


def test_a_message_delayed_while_online_does_not_claim_the_bot_was_offline(
    bot: Engine, clock: Clock
):
    bot.handle("i2", "/remind 2027-03-14 10:00 CMM exam")
    first = bot.reminders.pending()[0]
    started = first.fire_at - 86400  # the bot has been running since the day before
    clock.now = first.fire_at + 600  # retried, or queued behind a burst, for ten minutes
    message = bot.reminders.message(first, online_since=started)
    assert "Late" not in message.plain() and "offline" not in message.plain()
    assert "CMM exam" in message.plain()


def test_monthly_repeat_keeps_its_day_of_month(bot: Engine, clock: Clock):
    bot.handle("j", "/remind 2027-01-31 CEU deadline")
    reminder_id = bot.store.db.execute("SELECT id FROM reminders").fetchone()[0]
    bot.store.db.execute("UPDATE reminders SET repeat = 'monthly' WHERE id = ?", (reminder_id,))
    for n in bot.reminders.pending():
        clock.now = n.fire_at
        bot.reminders.mark_sent(n.id)
    # monthly from 31 January: the last day of February, then back to the 31st in March
    assert fire_times(bot, "j")[-1] == dt.datetime(2027, 2, 28, 9, tzinfo=UTC)
    for n in bot.reminders.pending():
        clock.now = n.fire_at
        bot.reminders.mark_sent(n.id)
    assert fire_times(bot, "j")[-1] == dt.datetime(2027, 3, 31, 9, tzinfo=UTC)


def test_snooze_and_done_buttons(bot: Engine, clock: Clock):
    bot.handle("k", "/remind 2027-03-14 CMM exam")
    first = bot.reminders.pending()[0]
    clock.now = first.fire_at
    message = bot.reminders.message(first, online_since=first.fire_at)
    labels = {b.label: b.data for b in message.buttons}
    assert {"Snooze 1 hour", "Snooze 1 day", "Done"} <= set(labels)
    bot.reminders.mark_sent(first.id)
    snoozed = bot.press("k", labels["Snooze 1 hour"])
    assert "Snoozed" in snoozed.plain()
    times = [n.fire_at for n in bot.reminders.pending()]
    assert first.fire_at + 3600 in times
    bot.press("k", labels["Done"])
    assert bot.reminders.pending() == [], "done stops the remaining notifications"
    assert bot.press("other", labels["Snooze 1 day"]).plain() == bot.response("stale_button").text


def test_guided_reminder_dialog(bot: Engine):
    turn = bot.handle("m", "/remind")
    press = lambda label: bot.press(  # noqa: E731
        "m", next(b.data for b in turn.buttons if b.label.endswith(label))
    )
    turn = press("FACHE")
    turn = press("Renewal deadline")
    turn = bot.handle("m", "3/4/2027")
    assert "4 March 2027" in turn.plain() and "month/day" in turn.plain()
    turn = bot.handle("m", "25:00")
    assert "not a valid time" in turn.plain()
    turn = bot.handle("m", "14:30")
    turn = press("7 days before")
    turn = press("At the time")
    assert sum(b.label.startswith("✅") for b in turn.buttons) == 2
    turn = press("Done")
    turn = press("Every year")
    text = turn.plain()
    assert "Reminder: FACHE renewal" in text and "4 March 2027, 14:30 (UTC)" in text
    assert "Save it?" in text and count(bot, "m") == 0, "nothing is stored before Save"
    save = next(b.data for b in turn.buttons if b.label == "Save")
    turn = bot.press("m", save)
    text = turn.plain()
    assert "Saved: FACHE renewal" in text and "4 March 2027, 14:30 (UTC)" in text
    assert "1 week before" in text and "at the time" in text and "Repeats every year" in text
    assert len(fire_times(bot, "m")) == 2
    again = bot.press("m", save)
    assert "earlier conversation" in again.plain() and count(bot, "m") == 1


def test_forget_deletes_reminders_too(bot: Engine):
    bot.handle("n", "/remind 2027-03-14 CMM exam")
    bot.press("n", "forget:yes")
    assert count(bot, "n") == 0 and bot.reminders.pending() == []


def test_blocked_user_is_paused_and_resumed_when_they_write(bot: Engine, clock: Clock):
    bot.handle("p", "/remind 2027-03-14 CMM exam")
    bot.reminders.pause_user("p")
    bot.store.set_active("p", False)
    assert bot.reminders.pending() == []
    turn = bot.handle("p", "hi again")
    assert len(bot.reminders.pending()) == 3 and len(turn.notifications) == 3


def test_reminder_survives_reopening_the_database(store_location, kb: Knowledge, clock: Clock):
    path = store_location
    first = Engine(kb, Store(path), clock=clock)
    assert "Saved" in first.handle("q", "/remind 2027-03-14 CMM exam").plain()
    # no close(): as if the process were killed right after replying
    second = Engine(kb, Store(path), clock=clock)
    assert len(second.reminders.pending()) == 3
    berlin = dt.datetime(2027, 3, 14, 9, tzinfo=ZoneInfo("UTC"))
    assert max(n.fire_at for n in second.reminders.pending()) == berlin.timestamp()


def test_an_update_resent_after_a_crash_is_handled_once(bot: Engine):
    first = bot.handle("s", "/remind 2027-03-14 CMM exam", update_id=900)
    again = bot.handle("s", "/remind 2027-03-14 CMM exam", update_id=900)
    assert "Saved" in first.plain() and again.replies == []
    assert count(bot, "s") == 1


def test_changing_the_zone_offers_to_move_reminders_keeping_their_clock_times(
    bot: Engine, clock: Clock
):
    bot.handle("tz", "/remind 2027-03-14 10:00 CMM exam")  # set before the zone: in UTC
    changed = bot.handle("tz", "/timezone America/Chicago")
    offer = changed.replies[-1]
    assert "1 reminder(s) set in UTC" in offer.plain()
    assert [b.label for b in offer.buttons] == ["Move them", "Keep them"]
    moved = bot.press("tz", offer.buttons[0].data)
    assert "Moved 1 reminder(s) to America/Chicago" in moved.plain()
    chicago = ZoneInfo("America/Chicago")
    expected = [  # a week and a day before, and on the day: 10:00 in Chicago each time, although
        # US daylight saving starts on 14 March 2027 (the day leads keep the wall time)
        dt.datetime(2027, 3, d, 10, tzinfo=chicago).astimezone(UTC)
        for d in (7, 13, 14)
    ]
    assert fire_times(bot, "tz") == expected
    assert "America/Chicago" in bot.handle("tz", "/reminders").plain()
    assert bot.press("tz", offer.buttons[0].data).plain() == bot.response("stale_button").text


def test_keeping_reminders_in_their_zone_and_snoozes_keep_their_moment(bot: Engine, clock: Clock):
    bot.handle("tk", "/remind 2027-03-14 10:00 CMM exam")
    first = bot.reminders.pending()[0]
    clock.now = first.fire_at
    bot.reminders.mark_sent(first.id)
    snoozed = bot.reminders.snooze("tk", first.id, 60)
    assert snoozed is not None
    before = fire_times(bot, "tk")
    offer = bot.handle("tk", "/timezone Asia/Tokyo").replies[-1]
    kept = bot.press("tk", offer.buttons[1].data)
    assert "stay in the zone they were set in" in kept.plain()
    assert fire_times(bot, "tk") == before
    bot.press("tk", offer.buttons[0].data)
    after = fire_times(bot, "tk")
    assert dt.datetime.fromtimestamp(snoozed.fire_at, UTC) in after, "a snooze keeps its moment"
    tokyo_day_before = dt.datetime(2027, 3, 13, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert tokyo_day_before.astimezone(UTC) in after


def test_a_moved_time_that_has_passed_goes_out_now(bot: Engine, clock: Clock):
    bot.handle("tp", "/remind 2027-03-14 10:00 CMM exam")
    clock.at(dt.datetime(2027, 3, 14, 5, tzinfo=UTC))  # 10:00 in Tokyo was 01:00 UTC
    for n in bot.reminders.pending(until=clock()):  # the week and day before went out
        bot.reminders.mark_sent(n.id)
    offer = bot.handle("tp", "/timezone Asia/Tokyo").replies[-1]
    moved = bot.press("tp", offer.buttons[0].data)
    assert fire_times(bot, "tp") == [dt.datetime(2027, 3, 14, 5, tzinfo=UTC)]
    assert moved.notifications, "the moved notifications are handed to the channel to schedule"


def test_a_notification_is_claimed_by_one_sender_only(bot: Engine):
    bot.handle("s", "/remind 2027-03-14 CMM exam")
    first = bot.reminders.pending()[0]
    assert bot.reminders.claim(first.id)
    assert not bot.reminders.claim(first.id), "a second sender gets nothing to send"
    assert first.id not in [n.id for n in bot.reminders.pending()]
    assert [n.id for n in bot.reminders.recover()] == [first.id], (
        "a claim left by a dead process goes back to pending"
    )
    assert first.id in [n.id for n in bot.reminders.pending()]


def test_on_a_shared_store_a_claim_is_taken_back_only_when_its_lease_ran_out(
    bot: Engine, clock: Clock
):
    """Several processes: one that starts must not take the claims of one that is sending."""
    bot.handle("s", "/remind 2027-03-14 CMM exam")
    first = bot.reminders.pending()[0]
    assert bot.reminders.claim(first.id)
    clock.now += CLAIM_LEASE - 1
    assert bot.reminders.recover(expired_only=True) == [], "its owner may still be sending"
    assert not bot.reminders.claim(first.id)
    clock.now += 2  # the owner was killed: nobody renewed or finished the claim
    assert [n.id for n in bot.reminders.recover(expired_only=True)] == [first.id]
    assert bot.reminders.claim(first.id), "now another sender may take it"


def test_a_set_up_that_skipped_its_date_says_so_not_a_python_error(bot: Engine):
    """A forged "Change" button can jump the reminder set-up past its date step."""
    turn = bot.handle("iso", "/remind")
    run = next(b.data for b in turn.buttons if b.data.startswith("a:")).split(":")[1]
    turn = bot.press("iso", f"c:{run}:repeat")
    turn = bot.press("iso", next(b.data for b in turn.buttons if b.data.endswith(":none")))
    text = turn.plain()
    assert "isoformat" not in text and "I could not save that reminder" in text
    assert "no date" in text and count(bot, "iso") == 0


def test_a_reminder_names_a_credential_as_the_documents_do(bot: Engine):
    # The documents write "Certified Nursing Home Administrator", never "CNHA" alone.
    turn = bot.handle("n", "/remind")
    for step in ("Certified Nursing Home Administrator", "Exam"):
        turn = bot.press("n", next(b.data for b in turn.buttons if b.label.endswith(step)))
    turn = bot.handle("n", "2027-05-03")
    for step in ("09:00", "At the time", "Done", "No, just once", "Save"):
        turn = bot.press("n", next(b.data for b in turn.buttons if b.label.endswith(step)))
    assert "Saved: Certified Nursing Home Administrator (CNHA) exam" in turn.plain()
    listed = bot.handle("n", "/reminders").plain()
    assert "Certified Nursing Home Administrator (CNHA) exam" in listed

"""The schedule and recurrence rules on their own: no SQLite, no clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.reminders import rules
from bot.reminders.models import Reminder, ReminderError

UTC = dt.UTC


def reminder(
    day: dt.date, tz: str = "UTC", leads: list[int] | None = None, repeat: str = "none"
) -> Reminder:
    at = dt.time(9)
    return Reminder(1, "u", "CMM exam", "exam", None, day, at, tz, leads or [0], repeat, day)


def test_day_leads_keep_the_wall_time_across_daylight_saving():
    berlin = reminder(dt.date(2027, 4, 1), "Europe/Berlin", [7 * 1440, 60])
    week_before = dt.datetime.fromtimestamp(rules.fire_at(berlin, berlin.day, 7 * 1440), UTC)
    hour_before = dt.datetime.fromtimestamp(rules.fire_at(berlin, berlin.day, 60), UTC)
    assert week_before == dt.datetime(2027, 3, 25, 8, tzinfo=UTC)  # 09:00 winter time
    assert hour_before == dt.datetime(2027, 4, 1, 6, tzinfo=UTC)  # 08:00 summer time


def test_passed_leads_are_left_out_but_the_moment_itself_stays():
    r = reminder(dt.date(2027, 3, 14), leads=[7 * 1440, 1440, 0])
    three_days_before = dt.datetime(2027, 3, 11, tzinfo=UTC).timestamp()
    assert [lead for lead, _ in rules.ahead(r, r.day, three_days_before)] == [1440, 0]
    after = dt.datetime(2027, 3, 15, tzinfo=UTC).timestamp()
    assert rules.ahead(r, r.day, after) == [(0, r.event().timestamp())]


def test_monthly_from_the_31st_keeps_its_day_and_skips_missed_months():
    r = reminder(dt.date(2027, 1, 31), repeat="monthly")
    now = dt.datetime(2027, 1, 31, 10, tzinfo=UTC).timestamp()
    assert rules.next_occurrence(r, dt.date(2027, 1, 31), now) == dt.date(2027, 2, 28)
    feb = replace(r, day=dt.date(2027, 2, 28))  # the 31st stays the anchor
    assert rules.next_occurrence(feb, dt.date(2027, 2, 28), now) == dt.date(2027, 3, 31)
    offline_until_may = dt.datetime(2027, 5, 1, tzinfo=UTC).timestamp()
    assert rules.next_occurrence(r, r.day, offline_until_may) == dt.date(2027, 5, 31)


def test_a_moved_time_already_past_goes_out_now():
    tokyo = reminder(dt.date(2027, 3, 14), "Asia/Tokyo")
    now = dt.datetime(2027, 3, 14, 5, tzinfo=UTC).timestamp()  # 14:00 in Tokyo
    assert rules.moved_fire_at(tokyo, tokyo.day, 0, now) == now
    earlier = dt.datetime(2027, 3, 13, tzinfo=UTC).timestamp()
    nine_tokyo = dt.datetime(2027, 3, 14, 9, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()
    assert rules.moved_fire_at(tokyo, tokyo.day, 0, earlier) == nine_tokyo


@pytest.mark.parametrize(
    ("title", "kind", "repeat", "says"),
    [
        ("  ", "exam", "none", "needs a title"),
        ("x" * 201, "exam", "none", "under 200"),
        ("CMM", "party", "none", "not one I know"),
        ("CMM", "exam", "daily", "not one I know"),
    ],
)
def test_titles_kinds_and_repeats_that_cannot_be_saved(title, kind, repeat, says):
    with pytest.raises(ReminderError, match=says):
        rules.clean_title(title, kind, repeat)


def test_lead_options_and_short_names():
    assert [rules.lead_minutes(v) for v in ("d30", "w1", "h3", "d0", "d²", "x5")] == [
        30 * 1440,
        7 * 1440,
        180,
        0,
        0,
        0,
    ]
    assert rules.short_name("CMM (Certified Medical Manager)") == "CMM"
    assert rules.lead_order([0, 1440, 0, 7 * 1440]) == [7 * 1440, 1440, 0]

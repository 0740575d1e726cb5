"""bot.dates: what users type for dates, times, zones and lead times, and what they are told."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dates import (
    DateError,
    MonthOnly,
    ParsedDate,
    UnreadableDate,
    add_months,
    complete_month,
    describe_lead,
    example_date,
    examples,
    parse_date,
    parse_duration,
    parse_time,
    parse_zone,
    read_date,
    read_time_phrase,
    suggest_zones,
    to_utc,
)

TODAY = date(2026, 11, 24)
# its examples are dated from TODAY: the 14th, three months on
UNREADABLE = 'I couldn\'t read that date. Try 2027-02-14, 14 February 2027 or "in 3 weeks".'
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --- parse_date: accepted ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2027-03-14",
        "2027-3-14",
        "14 March 2027",
        "14 Mar 2027",
        "14 mar. 2027",
        "March 14 2027",
        "March 14, 2027",
        "MARCH 14TH, 2027",
        "14th of March 2027",
        "the 14th of March 2027",
        "14.03.2027",
        "14.3.27",
        "3/14/2027",
        "03/14/27",
        "  March 14, 2027!  ",
        "(2027-03-14).",
        "marhc 14 2027",  # transposed letters
    ],
)
def test_unambiguous_dates_are_read_without_a_note(text):
    assert parse_date(text, TODAY) == ParsedDate(date(2027, 3, 14), None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("febuary 3 2027", date(2027, 2, 3)),
        ("3 septmber 2027", date(2027, 9, 3)),
        ("Octobr 1, 2027", date(2027, 10, 1)),
        ("1 decmber 2026", date(2026, 12, 1)),
        ("sept 9 2027", date(2027, 9, 9)),
    ],
)
def test_misspelt_and_abbreviated_month_names(text, expected):
    assert parse_date(text, TODAY).date == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 24)),
        ("Today.", date(2026, 11, 24)),
        ("tomorrow", date(2026, 11, 25)),
        ("in 3 days", date(2026, 11, 27)),
        ("in 1 day", date(2026, 11, 25)),
        ("in 3 weeks", date(2026, 12, 15)),
        ("in a week", date(2026, 12, 1)),
        ("in 2 months", date(2027, 1, 24)),
        ("in 1 year", date(2027, 11, 24)),
        ("in 10 years", date(2036, 11, 24)),
        ("3 weeks from now", date(2026, 12, 15)),
        ("next week", date(2026, 12, 1)),
        ("next month", date(2026, 12, 24)),
        ("next year", date(2027, 11, 24)),
    ],
)
def test_relative_dates_count_from_today(text, expected):
    assert parse_date(text, TODAY) == ParsedDate(expected, None)


def test_months_ahead_are_calendar_months_clamped_to_the_month_end():
    assert parse_date("in 1 month", date(2027, 1, 31)).date == date(2027, 2, 28)
    assert parse_date("next month", date(2028, 1, 31)).date == date(2028, 2, 29)
    assert parse_date("in 3 months", date(2026, 11, 30)).date == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected", "note"),
    [
        (
            "March 14",
            date(2027, 3, 14),
            "I took March 14 to mean 14 March 2027, the next one.",
        ),
        (
            "14 march",
            date(2027, 3, 14),
            "I took 14 March to mean 14 March 2027, the next one.",
        ),
        (
            "december 1st",
            date(2026, 12, 1),
            "I took December 1 to mean 1 December 2026, the next one.",
        ),
        (
            "24 November",
            date(2026, 11, 24),
            "I took 24 November to mean 24 November 2026, today.",
        ),
        (
            "23 November",
            date(2027, 11, 23),
            "I took 23 November to mean 23 November 2027, the next one.",
        ),
        (
            "29 feb",
            date(2028, 2, 29),
            "I took 29 February to mean 29 February 2028, the next one.",
        ),
        (
            "febuary 3",
            date(2027, 2, 3),
            "I took February 3 to mean 3 February 2027, the next one.",
        ),
    ],
)
def test_a_date_without_a_year_is_the_next_one_and_says_so(text, expected, note):
    assert parse_date(text, TODAY) == ParsedDate(expected, note)


@pytest.mark.parametrize(
    ("text", "expected", "note", "alternative"),
    [
        (
            "3/4/2027",
            date(2027, 3, 4),
            "I read 3/4/2027 as 4 March 2027 (month/day, US style).",
            date(2027, 4, 3),
        ),
        (
            "03/04/27",
            date(2027, 3, 4),
            "I read 03/04/27 as 4 March 2027 (month/day, US style).",
            date(2027, 4, 3),
        ),
        (
            "14/3/2027",
            date(2027, 3, 14),
            "I read 14/3/2027 as 14 March 2027 (day/month, as there is no month 14).",
            None,
        ),
        ("5/5/2027", date(2027, 5, 5), None, None),  # both readings agree: nothing to explain
        ("1/31/2027", date(2027, 1, 31), None, None),
        # the other reading is in the past: nothing to offer, the note still says how it was read
        (
            "12/11/2026",
            date(2026, 12, 11),
            "I read 12/11/2026 as 11 December 2026 (month/day, US style).",
            None,
        ),
    ],
)
def test_slashed_dates_are_us_style_and_the_other_reading_is_offered(
    text, expected, note, alternative
):
    assert parse_date(text, TODAY) == ParsedDate(expected, note, alternative)


def test_dots_are_day_month_year():
    assert parse_date("04.03.2027", TODAY).date == date(2027, 3, 4)


def test_the_last_day_ten_years_ahead_is_allowed():
    assert parse_date("2036-11-24", TODAY).date == date(2036, 11, 24)


# --- parse_date: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-02-30", "2027-02-30 is not a real date: February 2027 has 28 days."),
        ("2028-02-30", "2028-02-30 is not a real date: February 2028 has 29 days."),
        ("31 April 2027", "31 April 2027 is not a real date: April 2027 has 30 days."),
        ("2027-13-01", "2027-13-01 is not a real date: there is no month 13."),
        ("0 March 2027", "0 March 2027 is not a real date: there is no day 0."),
        ("3.14.2027", "3.14.2027 is not a real date: there is no month 14."),
        ("13/14/2027", "13/14/2027 is not a real date: neither 13 nor 14 is a month."),
        ("30 February", "30 February is not a real date: February has at most 29 days."),
        ("April 31", "April 31 is not a real date: April has 30 days."),
    ],
)
def test_impossible_dates_say_why(text, message):
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text",
    ["soonish", "", "   ", "14 blah 2027", "two weeks before", "the day before", "someday"],
)
def test_unreadable_dates(text):
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value) == UNREADABLE


@pytest.mark.parametrize(
    "today", [TODAY, date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 14), date(2028, 2, 29)]
)
def test_example_dates_are_ahead_of_today_and_read_back_as_themselves(today):
    ahead = example_date(today)
    assert today + timedelta(days=60) < ahead < today + timedelta(days=125)
    for form in examples(today).values():
        assert parse_date(form, today) == ParsedDate(ahead), form


@pytest.mark.parametrize("text", ["2026-11-23", "23 November 2026", "1/1/2026", "03/14/99"])
def test_past_dates_are_refused(text):
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value) == "That date is in the past."


@pytest.mark.parametrize(
    "text", ["2036-11-25", "1 January 2040", "in 11 years", "in 121 months", "in 99999999 years"]
)
def test_dates_more_than_ten_years_ahead_are_refused(text):
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value) == (
        "That date is more than 10 years ahead; pick one up to 24 November 2036."
    )


def test_date_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_date("soonish", TODAY)


# --- parse_time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9, 0)),
        ("9:00", time(9, 0)),
        ("9", time(9, 0)),
        ("9am", time(9, 0)),
        ("9 am", time(9, 0)),
        ("9 a.m.", time(9, 0)),
        ("9:30pm", time(21, 30)),
        ("9:30 PM", time(21, 30)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("12:15 am", time(0, 15)),
        ("21:30", time(21, 30)),
        ("21h30", time(21, 30)),
        ("21h", time(21, 0)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("noon", time(12, 0)),
        ("Midnight", time(0, 0)),
        (" 09:00. ", time(9, 0)),
    ],
)
def test_times_are_read(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25:00", "25:00 is not a valid time: hours go from 0 to 23."),
        ("24:00", "24:00 is not a valid time: hours go from 0 to 23."),
        ("12:60", "12:60 is not a valid time: minutes go from 0 to 59."),
        ("13pm", "13pm is not a valid time: with am/pm, hours go from 1 to 12."),
        ("0am", "0am is not a valid time: with am/pm, hours go from 1 to 12."),
        ("soon", "I couldn't read that time. Try 09:00, 9am or 21:30."),
        ("9:5", "I couldn't read that time. Try 09:00, 9am or 21:30."),
        ("", "I couldn't read that time. Try 09:00, 9am or 21:30."),
    ],
)
def test_bad_times_say_why(text, message):
    with pytest.raises(DateError) as caught:
        parse_time(text)
    assert str(caught.value) == message


# --- zones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  EUROPE/BERLIN ", "Europe/Berlin"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
    ],
)
def test_known_zones_are_found_in_any_case(text, key):
    assert parse_zone(text) == ZoneInfo(key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Europe/Berln",
            "I don't know the time zone 'Europe/Berln'. Did you mean Europe/Berlin?",
        ),
        ("berlin", "I don't know the time zone 'berlin'. Did you mean Europe/Berlin?"),
        (
            "Mars/Olympus",
            "I don't know the time zone 'Mars/Olympus'. "
            "Try a name like Europe/Berlin or America/New_York.",
        ),
        ("", "Please type a time zone, for example Europe/Berlin."),
    ],
)
def test_unknown_zones_say_what_might_have_been_meant(text, message):
    with pytest.raises(DateError) as caught:
        parse_zone(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "best"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/lodnon", "Europe/London"),
        ("America/New_Yrok", "America/New_York"),
        ("berlin", "Europe/Berlin"),
        ("Berln", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("newyork", "America/New_York"),
        ("sydeny", "Australia/Sydney"),
    ],
)
def test_suggestions_put_the_intended_zone_first(text, best):
    suggestions = suggest_zones(text)
    assert suggestions[0] == best
    assert len(suggestions) <= 3


def test_a_clear_match_is_suggested_alone():
    assert suggest_zones("berlin") == ["Europe/Berlin"]
    assert suggest_zones("Europe/Berln") == ["Europe/Berlin"]


def test_equally_good_suggestions_all_come_back_within_the_limit():
    assert suggest_zones("buenos aires") == [
        "America/Argentina/Buenos_Aires",
        "America/Buenos_Aires",
    ]
    assert suggest_zones("buenos aires", limit=1) == ["America/Argentina/Buenos_Aires"]


@pytest.mark.parametrize("text", ["", "xq", "Mars/Olympus", "pst"])
def test_nothing_close_means_no_suggestions(text):
    assert suggest_zones(text) == []


# --- lead times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 days", timedelta(days=30)),
        ("7d", timedelta(days=7)),
        ("1 day", timedelta(days=1)),
        ("a day", timedelta(days=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("1w", timedelta(weeks=1)),
        ("3 hours", timedelta(hours=3)),
        ("an hour", timedelta(hours=1)),
        ("15 min", timedelta(minutes=15)),
        ("30 days before", timedelta(days=30)),
        ("At the time", timedelta(0)),
        ("0", timedelta(0)),
        ("0 days", timedelta(0)),
    ],
)
def test_lead_times_are_read(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "", "am", "-3 days", "3 fortnights", "10**9999 days"])
def test_unreadable_lead_times_are_none(text):
    assert parse_duration(text) is None


def test_an_absurd_lead_time_is_none_not_a_crash():
    assert parse_duration("9" * 30 + " weeks") is None


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(days=30), "30 days before"),
        (timedelta(weeks=1), "1 week before"),
        (timedelta(weeks=2), "2 weeks before"),
        (timedelta(days=1), "1 day before"),
        (timedelta(hours=3), "3 hours before"),
        (timedelta(hours=1), "1 hour before"),
        (timedelta(minutes=90), "90 minutes before"),
        (timedelta(hours=27), "27 hours before"),
        (timedelta(0), "at the time"),
    ],
)
def test_lead_times_are_described(delta, words):
    assert describe_lead(delta) == words


@pytest.mark.parametrize("text", ["30 days", "1 week", "1 day", "3 hours", "at the time"])
def test_a_described_lead_time_reads_back_the_same(text):
    delta = parse_duration(text)
    assert delta is not None
    assert parse_duration(describe_lead(delta)) == delta


def test_a_negative_lead_time_is_a_programming_error():
    with pytest.raises(ValueError, match="negative"):
        describe_lead(timedelta(days=-1))


# --- to_utc ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "zone", "expected"),
    [
        # ordinary days: CET is UTC+1 in winter, CEST UTC+2 in summer
        (date(2027, 1, 15), time(9, 0), BERLIN, datetime(2027, 1, 15, 8, 0, tzinfo=UTC)),
        (date(2027, 7, 15), time(9, 0), BERLIN, datetime(2027, 7, 15, 7, 0, tzinfo=UTC)),
        # 02:30 does not exist in Berlin on 28 March 2027: it is 03:30 CEST, 01:30 UTC
        (date(2027, 3, 28), time(2, 30), BERLIN, datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
        # 02:30 happens twice on 31 October 2027: the first is CEST, 00:30 UTC
        (date(2027, 10, 31), time(2, 30), BERLIN, datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
        # 02:30 does not exist in New York on 14 March 2027: it is 03:30 EDT, 07:30 UTC
        (date(2027, 3, 14), time(2, 30), NEW_YORK, datetime(2027, 3, 14, 7, 30, tzinfo=UTC)),
        # 01:30 happens twice on 7 November 2027: the first is EDT, 05:30 UTC
        (date(2027, 11, 7), time(1, 30), NEW_YORK, datetime(2027, 11, 7, 5, 30, tzinfo=UTC)),
    ],
)
def test_to_utc(day, at, zone, expected):
    result = to_utc(day, at, zone)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_a_wall_time_in_a_dst_gap_moves_forward_by_the_gap():
    local = to_utc(date(2027, 3, 28), time(2, 30), BERLIN).astimezone(BERLIN)
    assert (local.hour, local.minute) == (3, 30)


def test_to_utc_ignores_a_fold_or_zone_on_the_time_itself():
    at = time(2, 30, fold=1, tzinfo=NEW_YORK)
    assert to_utc(date(2027, 10, 31), at, BERLIN) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


# --- add_months --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 1, 15), 1, date(2027, 2, 15)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 1, 15), -1, date(2026, 12, 15)),
        (date(2027, 5, 17), 0, date(2027, 5, 17)),
        (date(2027, 5, 17), 120, date(2037, 5, 17)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_add_months_beyond_the_calendar_is_a_value_error():
    with pytest.raises(ValueError):
        add_months(date(9999, 12, 1), 1)


# --- the forms people write (issue 17), today being Wednesday 2 December 2026 -------------------

WEDNESDAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "14 March",
            ParsedDate(date(2027, 3, 14), "I took 14 March to mean 14 March 2027, the next one."),
        ),
        ("on 14 March 2027", ParsedDate(date(2027, 3, 14))),
        ("3/14", ParsedDate(date(2027, 3, 14), "I read 3/14 as 14 March 2027, the next one.")),
        (
            "14/3",
            ParsedDate(
                date(2027, 3, 14),
                "I read 14/3 as 14 March 2027 (day/month, as there is no month 14).",
            ),
        ),
        ("2027-03-14", ParsedDate(date(2027, 3, 14))),
        (
            "12/25",
            ParsedDate(date(2026, 12, 25), "I read 12/25 as 25 December 2026, the next one."),
        ),
    ],
)
def test_absolute_dates_with_and_without_a_year(text, expected):
    assert parse_date(text, WEDNESDAY) == expected


def test_a_short_slashed_date_offers_its_other_reading():
    assert parse_date("3/4", WEDNESDAY) == ParsedDate(
        date(2027, 3, 4), "I read 3/4 as 4 March 2027 (month/day, US style).", date(2027, 4, 3)
    )


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("March 14 at 9am", date(2027, 3, 14), time(9, 0)),
        ("14 march 2027 9:30", date(2027, 3, 14), time(9, 30)),
        ("at 9am on March 14", date(2027, 3, 14), time(9, 0)),
        ("9am tomorrow", date(2026, 12, 3), time(9, 0)),
        ("tomorrow 3pm", date(2026, 12, 3), time(15, 0)),
        ("tomorrow at noon", date(2026, 12, 3), time(12, 0)),
        ("friday at 21:30", date(2026, 12, 4), time(21, 30)),
        ("tomorrow morning", date(2026, 12, 3), time(9, 0)),
        ("tomorrow afternoon", date(2026, 12, 3), time(14, 0)),
        ("friday evening", date(2026, 12, 4), time(18, 0)),
        ("tonight", date(2026, 12, 2), time(20, 0)),
        ("3 in the afternoon tomorrow", date(2026, 12, 3), time(15, 0)),
    ],
)
def test_a_time_written_with_the_date_comes_back_with_it(text, day, at):
    parsed = parse_date(text, WEDNESDAY)
    assert (parsed.date, parsed.at) == (day, at)


def test_a_bare_afternoon_hour_is_read_as_pm_and_says_so():
    parsed = parse_date("tomorrow at 3", WEDNESDAY)
    assert parsed.at == time(15, 0)
    assert parsed.at_note == "I took 3 as 15:00; say 3am if you meant the morning."
    assert parse_date("tomorrow at 9", WEDNESDAY).at == time(9, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 3 weeks", date(2026, 12, 23)),
        ("in three weeks", date(2026, 12, 23)),
        ("in two weeks", date(2026, 12, 16)),
        ("in a couple of weeks", date(2026, 12, 16)),
        ("in a fortnight", date(2026, 12, 16)),
        ("in ten days", date(2026, 12, 12)),
        ("tmrw", date(2026, 12, 3)),
        ("tommorow", date(2026, 12, 3)),
        ("the day after tomorrow", date(2026, 12, 4)),
        ("friday", date(2026, 12, 4)),
        ("this friday", date(2026, 12, 4)),
        ("on monday", date(2026, 12, 7)),
        ("thrusday", date(2026, 12, 3)),
        ("next monday", date(2026, 12, 7)),  # next week's Monday: nothing else it could mean
        ("this wednesday", date(2026, 12, 2)),
    ],
)
def test_relative_dates_and_weekdays(text, expected):
    assert parse_date(text, WEDNESDAY).date == expected


def test_next_weekday_in_this_week_offers_next_weeks_too():
    assert parse_date("next Friday", WEDNESDAY) == ParsedDate(
        date(2026, 12, 4),
        "I took next Friday to mean Friday 4 December 2026, not Friday 11 December 2026.",
        date(2026, 12, 11),
    )


def test_a_bare_weekday_said_on_that_day_is_next_weeks():
    assert parse_date("wednesday", WEDNESDAY) == ParsedDate(
        date(2026, 12, 9),
        "Today is Wednesday, so I took Wednesday to mean Wednesday 9 December 2026.",
    )


def test_a_weekday_that_does_not_match_the_date_is_pointed_out():
    parsed = parse_date("Friday 14 March 2027", WEDNESDAY)
    assert parsed.date == date(2027, 3, 14)
    assert parsed.note == "Note: that is Sunday 14 March 2027 (not a Friday)."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("end of the month", date(2026, 12, 31)),
        ("by the end of the month", date(2026, 12, 31)),
        ("end of month", date(2026, 12, 31)),
        ("end of next month", date(2027, 1, 31)),
        ("end of the year", date(2026, 12, 31)),
        ("year-end", date(2026, 12, 31)),
        ("end of next year", date(2027, 12, 31)),
        ("start of next month", date(2027, 1, 1)),
        ("end of february", date(2027, 2, 28)),
        ("mid january", date(2027, 1, 15)),
        ("the 14th", date(2026, 12, 14)),
        ("the 1st", date(2027, 1, 1)),
    ],
)
def test_period_ends_and_days_of_the_month(text, expected):
    parsed = parse_date(text, WEDNESDAY)
    assert parsed.date == expected
    assert parsed.note is not None and str(expected.year) in parsed.note


def test_the_start_of_a_month_already_begun_is_today():
    assert parse_date("start of the month", WEDNESDAY).date == WEDNESDAY


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("next June", MonthOnly(2027, 6, "I took next June to mean June 2027.")),
        ("june", MonthOnly(2027, 6, "I took June to mean June 2027.")),
        ("in June", MonthOnly(2027, 6, "I took June to mean June 2027.")),
        ("June 2028", MonthOnly(2028, 6)),
        ("this december", MonthOnly(2026, 12, "I took this December to mean December 2026.")),
        ("next december", MonthOnly(2027, 12, "I took next December to mean December 2027.")),
    ],
)
def test_a_month_without_a_day_is_a_month_to_complete(text, month):
    assert read_date(text, WEDNESDAY) == month


def test_parse_date_asks_for_the_day_of_a_month():
    with pytest.raises(DateError) as caught:
        parse_date("next June", WEDNESDAY)
    assert str(caught.value) == "Which day in June 2027? Type it like 14 June 2027."


@pytest.mark.parametrize(
    ("text", "expected"),
    [("14", date(2027, 6, 14)), ("the 14th", date(2027, 6, 14)), ("30", date(2027, 6, 30))],
)
def test_complete_month_reads_the_day(text, expected):
    assert complete_month(MonthOnly(2027, 6), text, WEDNESDAY).date == expected


def test_complete_month_refuses_a_day_the_month_lacks_or_has_passed():
    with pytest.raises(DateError, match="June 2027 has 30 days"):
        complete_month(MonthOnly(2027, 6), "31", WEDNESDAY)
    with pytest.raises(DateError, match="in the past"):
        complete_month(MonthOnly(2026, 12), "1", WEDNESDAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("June 2026", "That date is in the past."),
        ("November 2026", "That date is in the past."),
        ("june 2037", "That date is more than 10 years ahead; pick one up to 2 December 2036."),
        ("13/14", "13/14 is not a real date: neither 13 nor 14 is a month."),
        ("2/30", "2/30 is not a real date: February has 29 days."),
        ("tomorrow at 25:00", "25:00 is not a valid time: hours go from 0 to 23."),
    ],
)
def test_the_old_rules_hold_for_the_new_forms(text, message):
    with pytest.raises(DateError) as caught:
        read_date(text, WEDNESDAY)
    assert str(caught.value) == message


def test_not_a_date_is_told_apart_from_a_date_that_cannot_be_used():
    with pytest.raises(UnreadableDate):
        read_date("two weeks before", WEDNESDAY)
    with pytest.raises(DateError) as caught:
        read_date("2020-01-01", WEDNESDAY)
    assert not isinstance(caught.value, UnreadableDate)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("two weeks", timedelta(weeks=2)),
        ("two weeks before", timedelta(weeks=2)),
        ("a day before", timedelta(days=1)),
        ("three days prior", timedelta(days=3)),
        ("a week in advance", timedelta(weeks=1)),
        ("a couple of days", timedelta(days=2)),
    ],
)
def test_lead_times_in_words(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at 9am", (time(9, 0), None)),
        ("9:30", (time(9, 30), None)),
        ("at noon", (time(12, 0), None)),
        ("in the morning", (time(9, 0), "I took in the morning as 09:00.")),
        ("9 at night", (time(21, 0), None)),
        ("at 3", (time(15, 0), "I took 3 as 15:00; say 3am if you meant the morning.")),
        ("at 10", (time(10, 0), None)),
        ("3", None),  # a bare number beside a date is not a time
        ("soon", None),
    ],
)
def test_time_phrases_beside_a_date(text, expected):
    assert read_time_phrase(text) == expected

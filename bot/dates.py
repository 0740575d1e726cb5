"""Reading the dates, times, time zones and lead times users type; every refusal is a DateError.

Nothing here reads the clock: ``parse_date`` is given ``today`` (the caller decides whose today,
usually the user's zone's), so the results are reproducible and the tests can pin the day.
A DateError's ``str()`` is a one-line message meant to be shown to the user as it is.
"""

from __future__ import annotations

import calendar
import datetime
import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from string import Template

from rapidfuzz import fuzz, process

from bot.errors import UserError

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_TYPO_SCORE = 80  # rapidfuzz ratio a misspelt month name needs ("febuary" scores 93)
MIN_TYPO_LENGTH = 4  # shorter words are never typo-corrected ("ma" would become May)
MAX_YEARS_AHEAD = 10
ZONE_SCORE = 75  # rapidfuzz ratio a zone (full name or city part) needs to be suggested ...
ZONE_WINDOW = 10  # ... and it must be within this many points of the best suggestion

_MONTH_WORDS: dict[str, int] = {
    **{name.lower(): number for number, name in enumerate(MONTHS, 1)},
    **{name[:3].lower(): number for number, name in enumerate(MONTHS, 1)},
    "sept": 9,
}
_WEEKDAY_WORDS: dict[str, int] = {
    **{name.lower(): number for number, name in enumerate(WEEKDAYS)},
    **{name[:3].lower(): number for number, name in enumerate(WEEKDAYS)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
}
_TOMORROW = frozenset(
    {"tomorrow", "tmrw", "tmr", "tmw", "tmro", "2moro", "2morrow", "tomorow", "tommorow"}
    | {"tommorrow", "tomorrrow", "tomoro", "tomorro"}
)
# The wall time a part of the day stands for ("tomorrow morning" -> 09:00).
PARTS_OF_DAY: dict[str, datetime.time] = {
    "morning": datetime.time(9, 0),
    "lunchtime": datetime.time(12, 0),
    "afternoon": datetime.time(14, 0),
    "evening": datetime.time(18, 0),
    "night": datetime.time(20, 0),
}
# Words that can carry a date; a stretch of a message without one is not read as a date.
DATE_ANCHORS = frozenset(
    {*_MONTH_WORDS, *_WEEKDAY_WORDS, *_TOMORROW}
    | {"today", "tonight", "week", "weeks", "month", "months", "year", "years", "fortnight"}
    | {"eom", "eoy", "end", "start", "beginning", "middle", "mid"}
)
# Whitespace, punctuation and quotes tolerated around what the user typed.
_EDGES = " \t\r\n.,;:!?\"'`()[]{}<>\u00ab\u00bb\u201c\u201d\u2018\u2019"

_UNREADABLE_DATE = 'I couldn\'t read that date. Try $example_iso, $example_long or "in 3 weeks".'
_UNREADABLE_TIME = "I couldn't read that time. Try 09:00, 9am or 21:30."
_PAST = "That date is in the past."

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_DAY_FIRST = re.compile(r"(?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: of)? ([a-z]+)\.?(?: (\d{4}))?")
_MONTH_FIRST = re.compile(r"([a-z]+)\.? (?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?")
AMOUNT = "(\\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
_IN_AMOUNT = re.compile(
    rf"(?:in )?{AMOUNT} (day|week|fortnight|month|year)s?(?: (?:from now|from today|later))?"
)
_NEXT = re.compile(r"next (week|month|year)")
_SLASHED_SHORT = re.compile(r"(\d{1,2})/(\d{1,2})")
_WEEKDAY = re.compile(r"(?:(this coming|this|next|coming) )?([a-z]+)")
_PERIOD_EDGE = re.compile(r"(end|start|beginning|middle) of (?:the |this )?(next )?(month|year)")
_MONTH_EDGE = re.compile(r"(end|start|beginning|middle|mid) (?:of )?([a-z]+)(?: (\d{4}))?")
_PERIOD_END = {"eom": "month", "eoy": "year", "month end": "month", "year end": "year"}
_PERIOD_END |= {"month-end": "month", "year-end": "year"}
_DAY_OF_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")
_MONTH_ONLY = re.compile(r"(?:(next|this|coming|this coming) )?([a-z]+)(?:,? (?:of )?(\d{4}))?")
_DAY_PART_TIME = re.compile(
    r"(\d{1,2})(?::(\d{2}))? (in the morning|in the afternoon|in the evening|at night)"
)
_CLOCK_TIME = re.compile(r"\d{1,2}(?:(?:[:h.]\d{2})?(?: ?[ap]\.? ?m\.?)|[:h]\d{2}|h)")
_BARE_HOUR = re.compile(r"\d{1,2}")
AFTERNOON_GUESS = range(1, 7)  # "at 3" without am/pm is read as 15:00 and says so
_TIME = re.compile(r"(\d{1,2})(?:[:h.](\d{2})|h)?(?: ?([ap])\.? ?m\.?)?")
_DURATION = re.compile(
    rf"(?:(\d+) ?|{AMOUNT} )(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)"
    r"(?: (?:before|earlier|ahead|prior|in advance|beforehand|early))?"
)
_AT_THE_TIME = frozenset({"0", "at the time", "on time"})
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LEAD_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


MAX_ZONE_NAME = 64  # the longest IANA names are about 30 characters


class DateError(UserError, ValueError):
    """A date, time or zone the user typed that cannot be used; str() is a friendly message."""


class UnreadableDate(DateError):
    """Text that is not a date at all (as opposed to a date that cannot be used)."""


@dataclass(frozen=True)
class ParsedDate:
    """A date read from user input, with a note on how an ambiguous input was read.

    ``alternative`` is the other reading of an ambiguous date (3/4: 4 March or 3 April; "next
    Friday": this week's or next week's), for a channel to offer; ``at`` is a time of day typed
    with the date ("March 14 at 9am", "tomorrow morning"), and ``at_note`` how it was read.
    """

    date: datetime.date
    note: str | None = None  # e.g. "I read 3/4/2027 as 4 March 2027 (month/day, US style)."
    alternative: datetime.date | None = None
    at: datetime.time | None = None
    at_note: str | None = None


@dataclass(frozen=True)
class MonthOnly:
    """A month without a day ("next June"): the day is still to be asked for."""

    year: int
    month: int
    note: str | None = None  # e.g. "I took next June to mean June 2027."

    def __str__(self) -> str:
        return f"{MONTHS[self.month - 1]} {self.year}"

    @property
    def first(self) -> datetime.date:
        """The month's first day."""
        return datetime.date(self.year, self.month, 1)

    @property
    def last(self) -> datetime.date:
        """The month's last day."""
        return datetime.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def read_date(text: str, today: datetime.date) -> ParsedDate | MonthOnly:
    """Read a date, or a month still needing its day; UnreadableDate or DateError if unusable.

    The rules of :func:`parse_date` hold for both: nothing in the past (a month is past once it
    is over), nothing beyond the 10-year horizon.
    """
    typed = _clean(text)
    for prefix in ("on ", "by "):  # "on March 14", "by the end of the month"
        if typed[: len(prefix)].lower() == prefix:
            typed = typed[len(prefix) :].lstrip()
    words = " ".join(typed.lower().replace(",", " ").split())
    parsed = _read_with_time(words, typed, today)
    if parsed is None:
        raise UnreadableDate(Template(_UNREADABLE_DATE).substitute(examples(today)))
    limit = _latest(today)
    if isinstance(parsed, MonthOnly):
        first, last = parsed.first, parsed.last
    else:
        first = last = parsed.date
    if last < today:
        raise DateError(_PAST)
    if first > limit:
        raise DateError(
            f"That date is more than {MAX_YEARS_AHEAD} years ahead; pick one up to {_show(limit)}."
        )
    alternative = parsed.alternative if isinstance(parsed, ParsedDate) else None
    if isinstance(parsed, ParsedDate) and alternative and not today <= alternative <= limit:
        parsed = ParsedDate(parsed.date, parsed.note, None, parsed.at, parsed.at_note)
    return parsed


def parse_date(text: str, today: datetime.date) -> ParsedDate:
    """Read a date the user typed (relative ones count from ``today``); DateError if unusable.

    A month without a day ("next June") is refused with a question asking for the day.
    """
    parsed = read_date(text, today)
    if isinstance(parsed, MonthOnly):
        raise DateError(f"Which day in {parsed}? Type it like 14 {parsed}.")
    return parsed


def complete_month(month: MonthOnly, text: str, today: datetime.date) -> ParsedDate:
    """Read the day that completes ``month`` ("14", "the 14th", or a full date); or raise."""
    words = " ".join(_clean(text).lower().split()).removeprefix("the ").removeprefix("on the ")
    match = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", words)
    if match is None:
        return parse_date(text, today)
    day = int(match[1])
    if not 1 <= day <= month.last.day:
        raise DateError(f"{MONTHS[month.month - 1]} {month.year} has {month.last.day} days.")
    found = datetime.date(month.year, month.month, day)
    if found < today:
        raise DateError(_PAST)
    return ParsedDate(found)


def read_time_phrase(text: str) -> tuple[datetime.time, str | None] | None:
    """Read a time written beside a date ("at 9am", "9:30", "in the morning", "at 3", "noon").

    Stricter than :func:`parse_time`: a bare number counts only after "at" ("at 3"), and an
    hour from 1 to 6 without am/pm is taken as the afternoon, with a note saying so. None when
    the text is not a time; DateError for an impossible one ("at 25:00").
    """
    words = " ".join(_clean(text).lower().split())
    after_at = words.startswith(("at ", "@ "))
    words = words.removeprefix("at ").removeprefix("@ ")
    for prefix in ("in the ", "this ", "at ", "around "):
        part = words.removeprefix(prefix)
        if part in PARTS_OF_DAY and (part != "night" or prefix == "at " or words == part):
            return PARTS_OF_DAY[part], f"I took {words} as {PARTS_OF_DAY[part]:%H:%M}."
    if words in ("noon", "midday", "midnight", "lunch") and (words != "lunch" or after_at):
        return (parse_time(words) if words != "lunch" else PARTS_OF_DAY["lunchtime"]), None
    if (match := _DAY_PART_TIME.fullmatch(words)) is not None:
        hour, minute = int(match[1]), int(match[2] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise DateError(_UNREADABLE_TIME)
        later = match[3] != "in the morning" and hour != 12
        return datetime.time(hour % 12 + (12 if later else 0), minute), None
    if _CLOCK_TIME.fullmatch(words):
        return parse_time(words), None
    if after_at and _BARE_HOUR.fullmatch(words):
        at = parse_time(words)
        if at.hour in AFTERNOON_GUESS:
            at = at.replace(hour=at.hour + 12)
            return at, f"I took {words} as {at:%H:%M}; say {words}am if you meant the morning."
        return at, None
    return None


def parse_time(text: str) -> datetime.time:
    """Read a wall time like 09:00, 9am, 9:30pm, 21h30 or noon; raise DateError if unusable."""
    typed = _clean(text)
    words = " ".join(typed.lower().split())
    if words in ("noon", "midday"):
        return datetime.time(12, 0)
    if words == "midnight":
        return datetime.time(0, 0)
    match = _TIME.fullmatch(words)
    if match is None:
        raise DateError(_UNREADABLE_TIME)
    hour, minute = int(match[1]), int(match[2] or 0)
    half = match[3]
    if half is not None:
        if not 1 <= hour <= 12:
            raise DateError(f"{typed} is not a valid time: with am/pm, hours go from 1 to 12.")
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23:
        raise DateError(f"{typed} is not a valid time: hours go from 0 to 23.")
    if minute > 59:
        raise DateError(f"{typed} is not a valid time: minutes go from 0 to 59.")
    return datetime.time(hour, minute)


def parse_zone(text: str) -> zoneinfo.ZoneInfo:
    """Find the IANA time zone named in ``text`` (any case, spaces for underscores) or raise."""
    typed = text.strip()
    if len(typed) > MAX_ZONE_NAME:
        raise DateError("That is too long for a time zone name; try one like Europe/Berlin.")
    if not typed:
        raise DateError("Please type a time zone, for example Europe/Berlin.")
    name = _zone_table().by_key.get(_zone_key(typed))
    if name is not None:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # listed but unreadable: treat like an unknown name
    suggestions = suggest_zones(typed)
    if suggestions:
        raise DateError(
            f"I don't know the time zone '{typed}'. Did you mean {_or_list(suggestions)}?"
        )
    raise DateError(
        f"I don't know the time zone '{typed}'. Try a name like Europe/Berlin or America/New_York."
    )


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """Return up to ``limit`` IANA zone names closest to a misspelt name or a city, best first."""
    query = _zone_key(text)
    if not query or limit <= 0:
        return []
    table = _zone_table()
    scores: dict[int, float] = {}
    for choices, wanted in ((table.keys, query), (table.cities, query.rsplit("/", 1)[-1])):
        for _, score, index in process.extract(
            wanted, choices, scorer=fuzz.ratio, limit=None, score_cutoff=ZONE_SCORE
        ):
            scores[index] = max(score, scores.get(index, 0.0))
    if not scores:
        return []
    floor = max(scores.values()) - ZONE_WINDOW
    ranked = sorted(
        (index for index, score in scores.items() if score >= floor),
        key=lambda index: (-scores[index], table.names[index]),
    )
    return [table.names[index] for index in ranked[:limit]]


def parse_duration(text: str) -> datetime.timedelta | None:
    """Read a lead time like "30 days", "7d", "3 hours" or "at the time"; None if unreadable."""
    words = " ".join(_clean(text).lower().split())
    if words in _AT_THE_TIME:
        return datetime.timedelta(0)
    match = _DURATION.fullmatch(words)
    if match is None:
        return None
    amount = int(match[1]) if match[1] is not None else NUMBER_WORDS[match[2]]
    try:
        return datetime.timedelta(seconds=amount * _UNIT_SECONDS[match[3][0]])
    except OverflowError:
        return None


def describe_lead(delta: datetime.timedelta) -> str:
    """Describe a lead time in words: "1 week before", "30 days before", "at the time"."""
    if delta < datetime.timedelta(0):
        raise ValueError(f"a lead time cannot be negative: {delta!r}")
    seconds = delta.days * 86400 + delta.seconds
    if seconds == 0:
        return "at the time"
    for unit, size in _LEAD_UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} before"
    raise AssertionError("unreachable: every whole number of seconds is a count of seconds")


def to_utc(day: datetime.date, at: datetime.time, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """Return the UTC instant of a wall time in ``zone`` (DST gap: shifted later; fold: first)."""
    wall = datetime.datetime.combine(day, at.replace(tzinfo=None, fold=0))
    # With fold=0 zoneinfo uses the offset in force before the transition (PEP 495): in a gap that
    # is the earlier offset, so 02:30 in a one-hour spring gap becomes 03:30 after it; in a fold
    # it is the first of the two occurrences.
    return wall.replace(tzinfo=zone).astimezone(datetime.UTC)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Move ``day`` by calendar months, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise ValueError(f"year {year} is out of range")
    return datetime.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def example_date(today: datetime.date) -> datetime.date:
    """The date examples in replies show: the 14th of the month three months after ``today``'s,
    so always ahead, and one way to read in every form (14 is no month)."""
    return add_months(today.replace(day=1), 3).replace(day=14)


def examples(today: datetime.date) -> dict[str, str]:
    """:func:`example_date` in the forms replies show it, for ``$example_iso``,
    ``$example_long`` and ``$example_us`` in a text."""
    day = example_date(today)
    return {
        "example_iso": day.isoformat(),
        "example_long": f"{day.day} {MONTHS[day.month - 1]} {day.year}",
        "example_us": f"{day.month}/{day.day}/{day.year}",
    }


# --- dates ------------------------------------------------------------------------------------


def _read_with_time(words: str, typed: str, today: datetime.date) -> ParsedDate | MonthOnly | None:
    """A date, possibly with a time before or after it ("March 14 at 9am", "9am tomorrow")."""
    if words == "tonight":
        return ParsedDate(today, at=PARTS_OF_DAY["night"], at_note="I took tonight as 20:00.")
    whole = _read_any(words, typed, today)
    if whole is not None:
        return whole
    cuts = [i for i, c in enumerate(words) if c == " "]
    for cut in cuts:  # the date first, then its time
        head, tail = words[:cut], words[cut + 1 :]
        found = _date_and_time(head, tail, typed, today)
        if found is not None:
            return found
    for cut in reversed(cuts):  # the time first ("at 9am on March 14")
        head, tail = words[:cut], words[cut + 1 :].removeprefix("on ")
        found = _date_and_time(tail, head, typed, today)
        if found is not None:
            return found
    return None


def _date_and_time(
    day_words: str, time_words: str, typed: str, today: datetime.date
) -> ParsedDate | None:
    timed = read_time_phrase(time_words)
    if timed is None:
        return None
    day = _read_any(day_words, day_words, today)
    if not isinstance(day, ParsedDate):
        return None
    return ParsedDate(day.date, day.note, day.alternative, timed[0], timed[1])


def _read_any(words: str, typed: str, today: datetime.date) -> ParsedDate | MonthOnly | None:
    first, _, rest = words.partition(" ")
    weekday = _WEEKDAY_WORDS.get(first)
    if weekday is not None and rest:  # "Friday 14 March": the date decides, the weekday is checked
        found = _read_any(rest.removeprefix("the "), typed, today)
        if isinstance(found, ParsedDate) and found.date.weekday() != weekday:
            said = f"{_show_day(found.date)} (not a {WEEKDAYS[weekday]})"
            return ParsedDate(found.date, f"Note: that is {said}.", None, found.at, found.at_note)
        return found
    return (
        _read_relative(words, today)
        or _read_weekday(words, typed, today)
        or _read_period_edge(words, today)
        or _read_numeric(words, typed, today)
        or _read_named(words, typed, today)
        or _read_day_of_month(words, today)
        or _read_month_only(words, today)
    )


def _read_relative(words: str, today: datetime.date) -> ParsedDate | None:
    if words == "today":
        return ParsedDate(today)
    if words in _TOMORROW:
        return ParsedDate(today + datetime.timedelta(days=1))
    after = words.removeprefix("the ").split()
    if len(after) == 3 and after[:2] == ["day", "after"] and after[2] in _TOMORROW:
        return ParsedDate(today + datetime.timedelta(days=2))
    match = _IN_AMOUNT.fullmatch(words)
    if match is not None:
        amount, unit = int(match[1]) if match[1].isdigit() else NUMBER_WORDS[match[1]], match[2]
        if unit == "fortnight":
            amount, unit = amount * 2, "week"
    elif (match := _NEXT.fullmatch(words)) is not None:
        amount, unit = 1, match[1]
    else:
        return None
    try:
        if unit == "day":
            return ParsedDate(today + datetime.timedelta(days=amount))
        if unit == "week":
            return ParsedDate(today + datetime.timedelta(weeks=amount))
        return ParsedDate(add_months(today, amount * (12 if unit == "year" else 1)))
    except (OverflowError, ValueError):  # beyond year 9999
        return ParsedDate(datetime.date.max)


def _read_weekday(words: str, typed: str, today: datetime.date) -> ParsedDate | None:
    """ "Friday", "this Friday", "next Friday" (this week's or next week's: both offered)."""
    match = _WEEKDAY.fullmatch(words)
    if match is None:
        return None
    weekday = _weekday_number(match[2])
    if weekday is None:
        return None
    which, name = match[1], WEEKDAYS[weekday]
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and which not in ("this", None):
        ahead = 7
    if ahead == 0 and which is None:  # a bare "Friday" said on a Friday: next week's
        found = today + datetime.timedelta(days=7)
        return ParsedDate(found, f"Today is {name}, so I took {name} to mean {_show_day(found)}.")
    found = today + datetime.timedelta(days=ahead)
    if which == "next" and today.weekday() + ahead < 7:  # still this week: ambiguous
        later = found + datetime.timedelta(days=7)
        note = f"I took next {name} to mean {_show_day(found)}, not {_show_day(later)}."
        return ParsedDate(found, note, later)
    return ParsedDate(found)


def _read_period_edge(words: str, today: datetime.date) -> ParsedDate | None:
    """ "end of the month", "end of next year", "start of next month", "mid June"."""
    words = words.removeprefix("the ")
    year_month: tuple[int, int | None]
    if words in _PERIOD_END:
        edge, period = "end", _PERIOD_END[words]
        year_month = (today.year, today.month if period == "month" else None)
    elif (match := _PERIOD_EDGE.fullmatch(words)) is not None:
        edge, later, period = match[1], match[2] is not None, match[3]
        if period == "month":
            moved = add_months(today.replace(day=1), 1 if later else 0)
            year_month = (moved.year, moved.month)
        else:
            year_month = (today.year + (1 if later else 0), None)
    elif (match := _MONTH_EDGE.fullmatch(words)) is not None:
        month = _month_number(match[2])
        if month is None:
            return None
        edge = match[1]
        year = int(match[3]) if match[3] else _next_month_year(month, today, allow_current=True)
        year_month = (year, month)
    else:
        return None
    year, month_or_none = year_month
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        return None
    if month_or_none is None:  # a year's edge
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        middle = datetime.date(year, 7, 1)
    else:
        span = MonthOnly(year, month_or_none)
        first, last = span.first, span.last
        middle = first.replace(day=15)
    found = {"end": last, "start": first, "beginning": first}.get(edge, middle)
    if found < today <= last:  # "the start of the month" when it has started: today is next
        found = today
    return ParsedDate(found, f"I took that to mean {_show(found)}.")


def _read_day_of_month(words: str, today: datetime.date) -> ParsedDate | None:
    """ "the 14th": the next 14th of a month, this month's if it is still ahead."""
    match = _DAY_OF_MONTH.fullmatch(words.removeprefix("the "))
    if match is None:
        return None
    day = int(match[1])
    if not 1 <= day <= 31:
        return None
    month_start = today.replace(day=1)
    for months in range(3):  # a 31st is at most two months away
        first = add_months(month_start, months)
        if day <= calendar.monthrange(first.year, first.month)[1]:
            found = first.replace(day=day)
            if found >= today:
                return ParsedDate(
                    found, f"I took the {words.removeprefix('the ')} to mean {_show(found)}."
                )
    return None


def _read_month_only(words: str, today: datetime.date) -> MonthOnly | None:
    """ "June", "in June", "next June", "June 2027": a month whose day is still to come."""
    words = words.removeprefix("in the coming ").removeprefix("in ")
    match = _MONTH_ONLY.fullmatch(words)
    if match is None:
        return None
    month = _month_number(match[2])
    if month is None:
        return None
    if match[3] is not None:
        return MonthOnly(int(match[3]), month)
    which = match[1]
    year = _next_month_year(month, today, allow_current=which != "next")
    name = MONTHS[month - 1]
    shown = f"{which} {name}" if which else name
    return MonthOnly(year, month, f"I took {shown} to mean {name} {year}.")


def _next_month_year(month: int, today: datetime.date, *, allow_current: bool) -> int:
    """The year of the coming ``month`` (this year's while it is not over, if allowed)."""
    if month > today.month or (month == today.month and allow_current):
        return today.year
    return today.year + 1


def _weekday_number(word: str) -> int | None:
    number = _WEEKDAY_WORDS.get(word)
    if number is not None or len(word) < MIN_TYPO_LENGTH + 1:
        return number
    best = process.extractOne(
        word, [name.lower() for name in WEEKDAYS], scorer=fuzz.ratio, score_cutoff=MONTH_TYPO_SCORE
    )
    return None if best is None else best[2]


def _read_numeric(words: str, typed: str, today: datetime.date) -> ParsedDate | None:
    if (match := _ISO.fullmatch(words)) is not None:
        year, month, day = (int(group) for group in match.groups())
        return ParsedDate(_real_date(year, month, day, typed))
    if (match := _DOTTED.fullmatch(words)) is not None:  # European: day.month.year
        day, month = int(match[1]), int(match[2])
        return ParsedDate(_real_date(_full_year(match[3], today), month, day, typed))
    if (match := _SLASHED.fullmatch(words)) is not None:
        slash_year: int | None = _full_year(match[3], today)
    elif (match := _SLASHED_SHORT.fullmatch(words)) is not None:
        slash_year = None  # "3/14": the next one
    else:
        return None
    first, second = int(match[1]), int(match[2])
    if first > 12 and second > 12:
        raise DateError(f"{typed} is not a real date: neither {first} nor {second} is a month.")
    if first > 12:  # cannot be month/day, so it must be day/month
        found = _slashed_date(slash_year, second, first, typed, today)
        note = f"I read {typed} as {_show(found)} (day/month, as there is no month {first})."
        return ParsedDate(found, note)
    found = _slashed_date(slash_year, first, second, typed, today)  # US style: month/day/year
    if second <= 12 and first != second:
        other = _slashed_date(slash_year, second, first, typed, today)
        note = f"I read {typed} as {_show(found)} (month/day, US style)."
        return ParsedDate(found, note, other)
    if slash_year is None:
        return ParsedDate(found, f"I read {typed} as {_show(found)}, the next one.")
    return ParsedDate(found)


def _slashed_date(
    year: int | None, month: int, day: int, typed: str, today: datetime.date
) -> datetime.date:
    if year is not None:
        return _real_date(year, month, day, typed)
    if not 1 <= month <= 12:
        raise DateError(f"{typed} is not a real date: there is no month {month}.")
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
    if not 1 <= day <= longest:
        raise DateError(f"{typed} is not a real date: {MONTHS[month - 1]} has {longest} days.")
    return _next_occurrence(month, day, today)


def _read_named(words: str, typed: str, today: datetime.date) -> ParsedDate | None:
    if (match := _DAY_FIRST.fullmatch(words)) is not None:
        day_text, month_word, year_text = match.groups()
        day_first = True
    elif (match := _MONTH_FIRST.fullmatch(words)) is not None:
        month_word, day_text, year_text = match.groups()
        day_first = False
    else:
        return None
    month = _month_number(month_word)
    if month is None:
        return None
    day = int(day_text)
    if year_text is not None:
        return ParsedDate(_real_date(int(year_text), month, day, typed))
    name = MONTHS[month - 1]
    shown = f"{day} {name}" if day_first else f"{name} {day}"
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
    if not 1 <= day <= longest:
        at_most = "at most " if month == 2 else ""
        raise DateError(f"{shown} is not a real date: {name} has {at_most}{longest} days.")
    found = _next_occurrence(month, day, today)
    when = "today" if found == today else "the next one"
    return ParsedDate(found, f"I took {shown} to mean {_show(found)}, {when}.")


def _month_number(word: str) -> int | None:
    number = _MONTH_WORDS.get(word)
    if number is not None or len(word) < MIN_TYPO_LENGTH:
        return number
    best = process.extractOne(
        word, [name.lower() for name in MONTHS], scorer=fuzz.ratio, score_cutoff=MONTH_TYPO_SCORE
    )
    return None if best is None else best[2] + 1


def _next_occurrence(month: int, day: int, today: datetime.date) -> datetime.date:
    year = today.year
    while True:  # at most 8 years on, for 29 February around a skipped leap year like 2100
        if day <= calendar.monthrange(year, month)[1]:
            found = datetime.date(year, month, day)
            if found >= today:
                return found
        year += 1


def _real_date(year: int, month: int, day: int, typed: str) -> datetime.date:
    if not 1 <= month <= 12:
        raise DateError(f"{typed} is not a real date: there is no month {month}.")
    if day < 1:
        raise DateError(f"{typed} is not a real date: there is no day {day}.")
    if year < datetime.MINYEAR:
        raise DateError(_PAST)
    length = calendar.monthrange(year, month)[1]
    if day > length:
        raise DateError(
            f"{typed} is not a real date: {MONTHS[month - 1]} {year} has {length} days."
        )
    return datetime.date(year, month, day)


def _full_year(text: str, today: datetime.date) -> int:
    """A two-digit year is the nearest such year to today's ("27" is 2027, "99" is 1999)."""
    if len(text) == 4:
        return int(text)
    century = today.year // 100 * 100 + int(text)
    return min((century - 100, century, century + 100), key=lambda year: abs(year - today.year))


def _latest(today: datetime.date) -> datetime.date:
    try:
        return add_months(today, 12 * MAX_YEARS_AHEAD)
    except ValueError:
        return datetime.date.max


def _show(day: datetime.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _show_day(day: datetime.date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {_show(day)}"


def _clean(text: str) -> str:
    return " ".join(text.strip(_EDGES).split())


# --- zones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ZoneTable:
    names: tuple[str, ...]  # IANA names, sorted
    keys: tuple[str, ...]  # the same, as _zone_key spells them
    cities: tuple[str, ...]  # the last part of each key ("new york")
    by_key: dict[str, str]


@cache
def _zone_table() -> _ZoneTable:
    names = tuple(sorted(zoneinfo.available_timezones()))
    keys = tuple(_zone_key(name) for name in names)
    cities = tuple(key.rsplit("/", 1)[-1] for key in keys)
    return _ZoneTable(names, keys, cities, dict(zip(keys, names, strict=True)))


def _zone_key(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"

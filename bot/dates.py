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
# Whitespace, punctuation and quotes tolerated around what the user typed.
_EDGES = " \t\r\n.,;:!?\"'`()[]{}<>\u00ab\u00bb\u201c\u201d\u2018\u2019"

_UNREADABLE_DATE = 'I couldn\'t read that date. Try 2027-03-14, 14 March 2027 or "in 3 weeks".'
_UNREADABLE_TIME = "I couldn't read that time. Try 09:00, 9am or 21:30."
_PAST = "That date is in the past."

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_DAY_FIRST = re.compile(r"(?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: of)? ([a-z]+)\.?(?: (\d{4}))?")
_MONTH_FIRST = re.compile(r"([a-z]+)\.? (?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?")
_IN_AMOUNT = re.compile(
    r"(?:in )?(\d+|an?|one) (day|week|month|year)s?(?: (?:from now|from today|later))?"
)
_NEXT = re.compile(r"next (week|month|year)")
_TIME = re.compile(r"(\d{1,2})(?:[:h.](\d{2})|h)?(?: ?([ap])\.? ?m\.?)?")
_DURATION = re.compile(
    r"(?:(\d+) ?|(?:an?|one) )(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)"
    r"(?: (?:before|earlier|ahead))?"
)
_AT_THE_TIME = frozenset({"0", "at the time", "on time"})
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LEAD_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


MAX_ZONE_NAME = 64  # the longest IANA names are about 30 characters


class DateError(UserError, ValueError):
    """A date, time or zone the user typed that cannot be used; str() is a friendly message."""


@dataclass(frozen=True)
class ParsedDate:
    """A date read from user input, with a note on how an ambiguous input was read."""

    date: datetime.date
    note: str | None = None  # e.g. "I read 3/4/2027 as 4 March 2027 (month/day, US style)."


def parse_date(text: str, today: datetime.date) -> ParsedDate:
    """Read a date the user typed (relative ones count from ``today``); DateError if unusable."""
    typed = _clean(text)
    words = " ".join(typed.lower().replace(",", " ").split())
    parsed = (
        _read_relative(words, today)
        or _read_numeric(words, typed, today)
        or _read_named(words, typed, today)
    )
    if parsed is None:
        raise DateError(_UNREADABLE_DATE)
    if parsed.date < today:
        raise DateError(_PAST)
    limit = _latest(today)
    if parsed.date > limit:
        raise DateError(
            f"That date is more than {MAX_YEARS_AHEAD} years ahead; pick one up to {_show(limit)}."
        )
    return parsed


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
    amount = int(match[1]) if match[1] is not None else 1
    try:
        return datetime.timedelta(seconds=amount * _UNIT_SECONDS[match[2][0]])
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


# --- dates ------------------------------------------------------------------------------------


def _read_relative(words: str, today: datetime.date) -> ParsedDate | None:
    if words == "today":
        return ParsedDate(today)
    if words == "tomorrow":
        return ParsedDate(today + datetime.timedelta(days=1))
    match = _IN_AMOUNT.fullmatch(words)
    if match is not None:
        amount, unit = (int(match[1]) if match[1].isdigit() else 1), match[2]
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


def _read_numeric(words: str, typed: str, today: datetime.date) -> ParsedDate | None:
    if (match := _ISO.fullmatch(words)) is not None:
        year, month, day = (int(group) for group in match.groups())
        return ParsedDate(_real_date(year, month, day, typed))
    if (match := _DOTTED.fullmatch(words)) is not None:  # European: day.month.year
        day, month = int(match[1]), int(match[2])
        return ParsedDate(_real_date(_full_year(match[3], today), month, day, typed))
    match = _SLASHED.fullmatch(words)
    if match is None:
        return None
    first, second, year = int(match[1]), int(match[2]), _full_year(match[3], today)
    if first > 12 and second > 12:
        raise DateError(f"{typed} is not a real date: neither {first} nor {second} is a month.")
    if first > 12:  # cannot be month/day, so it must be day/month
        found = _real_date(year, second, first, typed)
        note = f"I read {typed} as {_show(found)} (day/month, as there is no month {first})."
        return ParsedDate(found, note)
    found = _real_date(year, first, second, typed)  # US style: month/day/year
    if second <= 12 and first != second:
        return ParsedDate(found, f"I read {typed} as {_show(found)} (month/day, US style).")
    return ParsedDate(found)


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

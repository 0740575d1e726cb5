"""When a reminder request says: the date, the time, lead times and repetition.

Each reader takes the words it reads from the :class:`~bot.reminders.message.Message`, so what is
left is the request's subject; dates, times and durations are read by :mod:`bot.dates`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import dates
from bot.reminders.message import Message, find_all, phrases
from bot.schema import ReminderWordsFile

DEFAULT_TIME = dt.time(9, 0)
MAX_DATE_WORDS = 7  # the longest stretch of words read as one date ("friday 14 march 2027 at 9am")
MAX_LEAD_WORDS = 4  # "a couple of weeks"
BEFORE_WORDS = ("in advance", "before", "prior", "ahead", "beforehand", "early", "earlier", "out")
AT_THE_TIME = ("on the day", "the morning of", "day of", "at the time", "same day", "on the date")
SOON_UNITS = ("hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins")
LIST_JOINS = frozenset({"and", "or", "&", "+", "then", "also", "plus"})
# Said as a lead time, a day before in the evening is still "1 day before".
LEAD_DAYS = {"the day": 1, "the night": 1, "the evening": 1, "the week": 7, "the month": 30}
_MONTH_LEAD = re.compile(rf"{dates.AMOUNT} months?")


@dataclass(frozen=True)
class FoundDate:
    """A date read from a message, or the problem with the one written."""

    value: dates.ParsedDate | dates.MonthOnly | None
    problem: str | None

    @property
    def at(self) -> dt.time | None:
        """The time the date came with ("tomorrow at 3pm"), if any."""
        return self.value.at if isinstance(self.value, dates.ParsedDate) else None

    @property
    def at_note(self) -> str | None:
        """How that time was read, if it needs saying."""
        return self.value.at_note if isinstance(self.value, dates.ParsedDate) else None


class WhenReader:
    """Reads the date, time, lead times and repetition of a reminder request."""

    def __init__(self, words: ReminderWordsFile) -> None:
        """Prepare the repetition phrases and the words never read alone as a date."""
        self.weak_dates = set(words.weak_date_words)
        self.repeats = [(repeat, phrases(names)) for repeat, names in words.repeats.items()]

    def repeat(self, message: Message, notes: list[str]) -> str | None:
        words = message.words
        for repeat, names in self.repeats:
            for start, end in find_all(words, names):
                message.take(start, end)
                return repeat
        for i, word in enumerate(words[:-2]):
            if word == "every" and words[i + 2] in ("years", "months", "weeks"):
                message.take(i, i + 3)
                notes.append(
                    f"I can repeat a reminder every year or every month, not every "
                    f"{words[i + 1]} {words[i + 2]}, so this one is set once."
                )
        return None

    def leads(self, message: Message, notes: list[str]) -> list[int]:
        words, leads = message.words, []
        for start, end in find_all(words, phrases(AT_THE_TIME)):
            if message.free(start, end):
                message.take(start, end)
                leads.append(0)
        for start, end in find_all(words, phrases(BEFORE_WORDS)):
            if not message.free(start, end):
                continue
            cursor, found = start, []
            while cursor > 0:
                lead = self.lead_ending_at(message, cursor, notes)
                if lead is None:
                    break
                minutes, cursor = lead
                found.append(minutes)
                if (
                    cursor > 0
                    and words[cursor - 1] in LIST_JOINS
                    and message.free(cursor - 1, cursor)
                ):
                    cursor -= 1
                else:
                    break
            if found:
                message.take(cursor, end)
                leads.extend(found)
        return leads

    def lead_ending_at(
        self, message: Message, end: int, notes: list[str]
    ) -> tuple[int, int] | None:
        """The lead time whose words end just before ``end``: (minutes, where it starts)."""
        for size in range(MAX_LEAD_WORDS, 0, -1):
            start = end - size
            if start < 0 or not message.free(start, end):
                continue
            text = message.text(start, end)
            if text in LEAD_DAYS:
                return LEAD_DAYS[text] * 1440, start
            if text in ("half an hour", "half hour"):
                return 30, start
            if (match := _MONTH_LEAD.fullmatch(text)) is not None:
                count = int(match[1]) if match[1].isdigit() else dates.NUMBER_WORDS[match[1]]
                notes.append(f"I took {text} before as {30 * count} days before.")
                return 30 * count * 1440, start
            delta = dates.parse_duration(text)
            if delta is not None and text not in ("0", "m", "h", "d", "w"):
                return int(delta.total_seconds() // 60), start
        return None

    def date(self, message: Message, today: dt.date) -> FoundDate | None:
        words = message.words
        for start in range(len(words)):
            for size in range(min(MAX_DATE_WORDS, len(words) - start), 0, -1):
                end = start + size
                if not message.free(start, end):
                    continue
                window = words[start:end]
                if not any(w in dates.DATE_ANCHORS or any(c.isdigit() for c in w) for w in window):
                    continue
                if size == 1 and window[0] in self.weak_dates:
                    continue
                try:
                    value = dates.read_date(" ".join(window), today)
                except dates.UnreadableDate:
                    continue
                except dates.DateError as exc:
                    message.take(start, end)
                    return FoundDate(None, str(exc))
                message.take(start, end)
                if " ".join(window) == "next year":  # "next year ... in November"
                    month = self.date(message, today)
                    if month is not None and isinstance(month.value, dates.MonthOnly):
                        year, name = today.year + 1, dates.MONTHS[month.value.month - 1]
                        note = f"I took {name} next year to mean {name} {year}."
                        return FoundDate(dates.MonthOnly(year, month.value.month, note), None)
                return FoundDate(value, None)
        return None

    def soon(self, message: Message, zone: ZoneInfo, now: dt.datetime) -> FoundDate | None:
        """ "in 2 hours", "in 30 minutes": a moment later today (or tomorrow)."""
        words = message.words
        for start in range(len(words)):
            for size in (4, 3):
                end = start + size
                if not message.free(start, end) or words[start] != "in":
                    continue
                text = message.text(start + 1, end)
                delta = dates.parse_duration(text)
                if delta is None or not text.endswith(SOON_UNITS) or not delta:
                    continue
                moment = (now + delta).astimezone(zone)
                message.take(start, end)
                at = moment.time().replace(second=0, microsecond=0)
                note = f"In {text}: {at:%H:%M}."
                return FoundDate(dates.ParsedDate(moment.date(), None, None, at, note), None)
        return None

    def time(self, message: Message) -> tuple[dt.time | None, str | None]:
        words = message.words
        for start in range(len(words)):
            for size in range(min(4, len(words) - start), 0, -1):
                end = start + size
                if not message.free(start, end):
                    continue
                try:
                    found = dates.read_time_phrase(message.text(start, end))
                except dates.DateError:
                    continue
                if found is not None:
                    message.take(start, end)
                    return found
        return None, None

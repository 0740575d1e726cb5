"""Reading a reminder request typed in plain words: is it one, and which slots does it fill.

"remind me to renew my FACHE next June" is a request for a FACHE renewal reminder in June of
next year (the day still to ask); "how long is FACHE valid" is not a request at all. Pure: no
store, no clock (the caller passes "now" and the user's zone), no engine. The words come from
``intents/reminder_words.yaml``; dates, times and lead times are read by :mod:`bot.dates`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rapidfuzz.distance import DamerauLevenshtein

from bot import dates
from bot.schema import ReminderWordsFile

DEFAULT_TIME = dt.time(9, 0)
MAX_CHARS = 1000  # a longer message is read up to here
MAX_DATE_WORDS = 7  # the longest stretch of words read as one date ("friday 14 march 2027 at 9am")
MAX_LEAD_WORDS = 4  # "a couple of weeks"
MAX_TITLE = 80
BEFORE_WORDS = ("in advance", "before", "prior", "ahead", "beforehand", "early", "earlier", "out")
AT_THE_TIME = ("on the day", "the morning of", "day of", "at the time", "same day", "on the date")
SOON_UNITS = ("hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins")
LIST_JOINS = frozenset({"and", "or", "&", "+", "then", "also", "plus"})
# Said as a lead time, a day before in the evening is still "1 day before".
LEAD_DAYS = {"the day": 1, "the night": 1, "the evening": 1, "the week": 7, "the month": 30}
_EDGE_PUNCTUATION = " \t\r\n.,;:!?\"'`()[]{}<>\u00ab\u00bb\u201c\u201d\u2018\u2019*_~"
_MONTH_LEAD = re.compile(rf"{dates.AMOUNT} months?")


@dataclass(frozen=True)
class ReminderRequest:
    """What a message says about a reminder it asks for; ``is_request`` False: it asks none.

    Every slot is None (or empty) when the message does not say it. ``missing`` names what a
    dialog still has to ask.
    """

    is_request: bool
    credential: str | None = None  # a knowledge entry id, e.g. "cert_fache"
    credentials: tuple[str, ...] = ()  # all named; more than one: ask which (credential is None)
    kind: str | None = None  # "exam" | "renewal" | "ceu" | "other"
    title: str | None = None  # the user's own words, when no credential is named
    date: dt.date | None = None
    date_alternative: dt.date | None = None  # the other reading of an ambiguous date: ask
    month: dates.MonthOnly | None = None  # a month whose day is still to be asked for
    date_problem: str | None = None  # a date was written but cannot be used; say why
    time: dt.time = DEFAULT_TIME
    time_given: bool = False  # False: ``time`` is the 09:00 default (a note says so)
    leads: tuple[int, ...] = ()  # minutes before the moment, largest first
    repeat: str | None = None  # "yearly" | "monthly"
    notes: tuple[str, ...] = ()  # how things were read, to show with the confirmation

    @property
    def missing(self) -> tuple[str, ...]:
        """The slots a dialog must still ask for: "subject", "kind", "date" or "day"."""
        if not self.is_request:
            return ()
        needed = []
        if self.credential is None and self.title is None:
            needed.append("subject")
        if self.kind is None:
            needed.append("kind")
        if self.month is not None:
            needed.append("day")
        elif self.date is None or self.date_alternative is not None:
            needed.append("date")
        return tuple(needed)


NOT_A_REQUEST = ReminderRequest(is_request=False)


@dataclass
class _Message:
    """The message as tokens: what the user typed, a normalised form, and what is read."""

    typed: list[str]
    words: list[str]
    used: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = [False] * len(self.words)

    def text(self, start: int, end: int) -> str:
        return " ".join(self.words[start:end])

    def free(self, start: int, end: int) -> bool:
        return end <= len(self.words) and not any(self.used[start:end])

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.used[i] = True


class RequestReader:
    """Reads reminder requests with the words of one ``reminder_words.yaml``; build it once."""

    def __init__(self, words: ReminderWordsFile) -> None:
        """Prepare the phrase tables of ``words``."""
        self.words = words
        self.triggers = _phrases(words.triggers)
        self.weak = _phrases(words.weak_triggers)
        self.not_requests = _phrases(words.not_requests)
        self.question_after = _phrases(words.question_after_trigger)
        self.when_needs = _phrases(words.when_needs)
        self.question_starts = _phrases(words.question_starts)
        self.polite_starts = _phrases(words.polite_starts)
        self.manage = _phrases(words.manage_verbs)
        self.determiners = set(words.determiners)
        self.weak_dates = set(words.weak_date_words)
        self.edges = set(words.title_edges)
        self.kinds = [(kind, _phrases(words.kinds.get(kind, []))) for kind in ("exam", "ceu")]
        self.kinds.append(("renewal", _phrases(words.kinds.get("renewal", []))))
        self.repeats = [(repeat, _phrases(names)) for repeat, names in words.repeats.items()]
        self.credential_names = sorted(
            (
                (name.split(), entry)
                for entry, names in words.credentials.items()
                for name in names
            ),
            key=lambda item: -len(item[0]),
        )
        self.acronyms = {
            name: entry
            for entry, names in words.credentials.items()
            for name in names
            if " " not in name and len(name) >= 4
        }
        vocabulary = {*self.acronyms}
        for phrase in [*words.triggers, *words.weak_triggers]:
            vocabulary.update(word for word in phrase.split() if len(word) >= 5)
        vocabulary.update(w.lower() for w in (*dates.MONTHS, *dates.WEEKDAYS, *dates.PARTS_OF_DAY))
        vocabulary.update({"tomorrow", "before", "every", "week", "month", "minute", "hour"})
        vocabulary.update({"weeks", "months", "minutes", "hours"})
        self.vocabulary = {w for w in vocabulary if w.isalpha()}
        self.known = set(words.never_corrected) | self.vocabulary
        self.by_letter: dict[str, list[str]] = {}
        for known in sorted(self.vocabulary):
            self.by_letter.setdefault(known[0], []).append(known)

    # --- the whole message ------------------------------------------------------------------

    def read(self, text: str, zone: ZoneInfo, now: dt.datetime) -> ReminderRequest:
        """Read ``text`` as the user in ``zone`` wrote it at ``now`` (an aware datetime)."""
        message = self._tokens(text[:MAX_CHARS])
        words = message.words
        if not words or self._refused(words):
            return NOT_A_REQUEST
        strong: list[tuple[int, int]] = []
        weak = [span for span in _find_all(words, self.weak) if self._counts(words, span)]
        for span in _find_all(words, self.triggers):
            if self._counts(words, span):
                # "remind me of the FACHE rules" is a question; with a date it is a request
                (weak if _next_word(words, span[1]) == "of" else strong).append(span)
        if not strong and not weak:
            return NOT_A_REQUEST
        for start, end in strong + weak:
            message.take(start, end)
        today = now.astimezone(zone).date()
        notes: list[str] = []
        repeat = self._repeat(message, notes)
        leads = self._leads(message, notes)
        day = self._soon(message, zone, now) or self._date(message, today)
        if not strong and day is None and not leads:
            return NOT_A_REQUEST
        at, at_note = (day.at, day.at_note) if day and day.at else self._time(message)
        credentials = self._credentials(words)
        kind = self._kind(words)
        title = None if credentials else self._title(message, strong or weak)
        if kind is None and title is not None:
            kind = "other"
        parsed, problem = (day.value, day.problem) if day else (None, None)
        if isinstance(parsed, dates.ParsedDate) and parsed.note:
            notes.insert(0, parsed.note)
        if isinstance(parsed, dates.MonthOnly) and parsed.note:
            notes.insert(0, parsed.note)
        if at_note:
            notes.append(at_note)
        if at is None:
            notes.append(f"No time given, so {DEFAULT_TIME:%H:%M} ({zone.key}).")
        when = parsed.date if isinstance(parsed, dates.ParsedDate) else None
        if when is not None and at is not None and dt.datetime.combine(when, at, zone) <= now:
            problem, when = "That time is already past today. Pick a later time.", None
        return ReminderRequest(
            is_request=True,
            credential=credentials[0] if len(credentials) == 1 else None,
            credentials=tuple(credentials),
            kind=kind,
            title=title,
            date=when,
            date_alternative=parsed.alternative if isinstance(parsed, dates.ParsedDate) else None,
            month=parsed if isinstance(parsed, dates.MonthOnly) else None,
            date_problem=problem,
            time=at or DEFAULT_TIME,
            time_given=at is not None,
            leads=tuple(sorted(set(leads), reverse=True)),
            repeat=repeat,
            notes=tuple(notes),
        )

    def kind_of(self, text: str) -> str | None:
        """The kind of date a title names ("CMM exam": "exam"), by the same words as requests."""
        return self._kind(self._tokens(text[:MAX_CHARS]).words)

    def _tokens(self, text: str) -> _Message:
        typed: list[str] = []
        words: list[str] = []
        for raw in text.replace("\u2019", "'").split():
            word = raw.strip(_EDGE_PUNCTUATION).lower().replace("'", "")
            word = word.rstrip(",")
            if not word:
                continue
            pieces = word.split("-") if word.replace("-", "").isalpha() else [word]
            for piece in filter(None, pieces):
                typed.append(raw.strip(_EDGE_PUNCTUATION) if len(pieces) == 1 else piece)
                words.append(self._correct(piece))
        return _Message(typed, words)

    def _correct(self, word: str) -> str:
        """A misspelt date or trigger word ("tommorow", "remidn", "wendesday") made right."""
        if len(word) < 5 or not word.isalpha() or word in self.known:
            return word
        candidates = self.by_letter.get(word[0], [])
        if any(word.startswith(v) and word[len(v) :] in ("s", "ed", "ing") for v in candidates):
            return word  # "reminds" and "reminded" are words of their own
        limit = 2 if len(word) >= 8 else 1
        best, distance = word, limit + 1
        for known in candidates:
            if abs(len(known) - len(word)) <= limit:
                d = DamerauLevenshtein.distance(word, known, score_cutoff=limit)
                if d < distance:
                    best, distance = known, d
        return best

    # --- is it a request --------------------------------------------------------------------

    def _refused(self, words: list[str]) -> bool:
        """About reminders but not asking for one: negated, managing one, or a question."""
        if _find_all(words, self.not_requests):
            return True
        for index, word in enumerate(words):
            if word in ("reminder", "reminders") and index:
                before = index - 1
                if words[before] in self.determiners and before:
                    before -= 1
                if any(_ends_with(words, before + 1, verb) for verb in self.manage):
                    return True
        asks = _starts_with(words, self.question_starts)
        return asks and not _starts_with(words, self.polite_starts)

    def _counts(self, words: list[str], at: tuple[int, int]) -> bool:
        """A trigger asks for a reminder unless what follows makes it a question."""
        after = at[1]
        while after < len(words) and words[after] in ("me", "of", "about", "u", "us"):
            after += 1
        rest = words[after:]
        if _starts_with(rest, self.question_after):
            return False
        if rest[:1] == ["when"]:
            return bool(_find_all(rest[1:5], self.when_needs))
        return True

    # --- slots ------------------------------------------------------------------------------

    def _repeat(self, message: _Message, notes: list[str]) -> str | None:
        words = message.words
        for repeat, phrases in self.repeats:
            for start, end in _find_all(words, phrases):
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

    def _leads(self, message: _Message, notes: list[str]) -> list[int]:
        words, leads = message.words, []
        for start, end in _find_all(words, _phrases(AT_THE_TIME)):
            if message.free(start, end):
                message.take(start, end)
                leads.append(0)
        for start, end in _find_all(words, _phrases(BEFORE_WORDS)):
            if not message.free(start, end):
                continue
            cursor, found = start, []
            while cursor > 0:
                lead = self._lead_ending_at(message, cursor, notes)
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

    def _lead_ending_at(
        self, message: _Message, end: int, notes: list[str]
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

    def _date(self, message: _Message, today: dt.date) -> _FoundDate | None:
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
                    return _FoundDate(None, str(exc))
                message.take(start, end)
                if " ".join(window) == "next year":  # "next year ... in November"
                    month = self._date(message, today)
                    if month is not None and isinstance(month.value, dates.MonthOnly):
                        year, name = today.year + 1, dates.MONTHS[month.value.month - 1]
                        note = f"I took {name} next year to mean {name} {year}."
                        return _FoundDate(dates.MonthOnly(year, month.value.month, note), None)
                return _FoundDate(value, None)
        return None

    def _soon(self, message: _Message, zone: ZoneInfo, now: dt.datetime) -> _FoundDate | None:
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
                return _FoundDate(dates.ParsedDate(moment.date(), None, None, at, note), None)
        return None

    def _time(self, message: _Message) -> tuple[dt.time | None, str | None]:
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

    def _credentials(self, words: list[str]) -> list[str]:
        found: dict[str, int] = {}
        taken = [False] * len(words)
        for name, entry in self.credential_names:
            for start, end in _find_all(words, [name]):
                if not any(taken[start:end]):
                    found.setdefault(entry, start)
                    for i in range(start, end):
                        taken[i] = True
        for index, word in enumerate(words):
            if not taken[index] and len(word) >= 4:
                for acronym, entry in self.acronyms.items():
                    if _swapped(word, acronym):  # "cpqh" for "cphq"
                        found.setdefault(entry, index)
        return sorted(found, key=found.__getitem__)

    def _kind(self, words: list[str]) -> str | None:
        for kind, phrases in self.kinds:
            if _find_all(words, phrases):
                return kind
        return None

    def _title(self, message: _Message, triggers: list[tuple[int, int]]) -> str | None:
        """The user's own words for what the reminder is about, without dates and fillers."""
        first = min(triggers)
        after = [i for i in range(first[1], len(message.words)) if not message.used[i]]
        before = [i for i in range(first[0]) if not message.used[i]]
        for indexes in (_runs(after), _runs(before)):
            for run in indexes:
                kept = self._trim(run, message.words)
                if kept:
                    title = " ".join(message.typed[i] for i in kept).strip(" ,;:-")
                    if title:
                        title = title[:MAX_TITLE]
                        return title[0].upper() + title[1:]
        return None

    def _trim(self, run: list[int], words: list[str]) -> list[int]:
        while run and words[run[0]] in self.edges:
            run = run[1:]
        while run and words[run[-1]] in self.edges:
            run = run[:-1]
        return run


@dataclass(frozen=True)
class _FoundDate:
    value: dates.ParsedDate | dates.MonthOnly | None
    problem: str | None

    @property
    def at(self) -> dt.time | None:
        return self.value.at if isinstance(self.value, dates.ParsedDate) else None

    @property
    def at_note(self) -> str | None:
        return self.value.at_note if isinstance(self.value, dates.ParsedDate) else None


def _phrases(items: Iterable[str]) -> list[list[str]]:
    return sorted((item.split() for item in items), key=lambda words: -len(words))


def _find_all(words: list[str], phrases: list[list[str]]) -> list[tuple[int, int]]:
    """Where the phrases occur as whole words, longest first at each place, not overlapping."""
    found: list[tuple[int, int]] = []
    index = 0
    while index < len(words):
        for phrase in phrases:
            if words[index : index + len(phrase)] == phrase:
                found.append((index, index + len(phrase)))
                index += len(phrase)
                break
        else:
            index += 1
    return found


def _next_word(words: list[str], index: int) -> str | None:
    """The word at ``index``, after any "me"."""
    rest = words[index + 1 :] if words[index : index + 1] == ["me"] else words[index:]
    return rest[0] if rest else None


def _starts_with(words: list[str], phrases: list[list[str]]) -> bool:
    return any(words[: len(phrase)] == phrase for phrase in phrases)


def _ends_with(words: list[str], end: int, phrase: list[str]) -> bool:
    return end >= len(phrase) and words[end - len(phrase) : end] == phrase


def _runs(indexes: list[int]) -> list[list[int]]:
    """Consecutive stretches of token indexes: [1, 2, 5] -> [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return sorted(runs, key=len, reverse=True)


def _swapped(word: str, name: str) -> bool:
    """``word`` is ``name`` with two neighbouring letters swapped."""
    if len(word) != len(name) or word == name:
        return False
    diff = [i for i in range(len(word)) if word[i] != name[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == name[diff[1]]
        and word[diff[1]] == name[diff[0]]
    )

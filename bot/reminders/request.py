"""Reading a reminder request typed in plain words: is it one, and which slots does it fill.

"remind me to renew my FACHE next June" is a request for a FACHE renewal reminder in June of
next year (the day still to ask); "how long is FACHE valid" is not a request at all. Pure: no
store, no clock (the caller passes "now" and the user's zone), no engine. The words come from
``intents/reminder_words.yaml``; dates, times and lead times are read by :mod:`bot.dates`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import dates
from bot.reminders.message import Message, Tokenizer, find_all, phrases
from bot.reminders.when import DEFAULT_TIME, WhenReader
from bot.schema import ReminderWordsFile

MAX_CHARS = 1000  # a longer message is read up to here
MAX_TITLE = 80


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


class RequestReader:
    """Reads reminder requests with the words of one ``reminder_words.yaml``; build it once."""

    def __init__(self, words: ReminderWordsFile) -> None:
        """Prepare the phrase tables of ``words``."""
        self.words = words
        self.triggers = phrases(words.triggers)
        self.weak = phrases(words.weak_triggers)
        self.not_requests = phrases(words.not_requests)
        self.question_after = phrases(words.question_after_trigger)
        self.when_needs = phrases(words.when_needs)
        self.question_starts = phrases(words.question_starts)
        self.polite_starts = phrases(words.polite_starts)
        self.manage = phrases(words.manage_verbs)
        self.determiners = set(words.determiners)
        self.edges = set(words.title_edges)
        self.kinds = [(kind, phrases(words.kinds.get(kind, []))) for kind in ("exam", "ceu")]
        self.kinds.append(("renewal", phrases(words.kinds.get("renewal", []))))
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
        self.tokenizer = Tokenizer(words, self.acronyms)
        self.when = WhenReader(words)

    # --- the whole message ------------------------------------------------------------------

    def read(self, text: str, zone: ZoneInfo, now: dt.datetime) -> ReminderRequest:
        """Read ``text`` as the user in ``zone`` wrote it at ``now`` (an aware datetime)."""
        message = self.tokenizer.tokens(text[:MAX_CHARS])
        words = message.words
        if not words or self._refused(words):
            return NOT_A_REQUEST
        strong: list[tuple[int, int]] = []
        weak = [span for span in find_all(words, self.weak) if self._counts(words, span)]
        for span in find_all(words, self.triggers):
            if self._counts(words, span):
                # "remind me of the FACHE rules" is a question; with a date it is a request
                (weak if _next_word(words, span[1]) == "of" else strong).append(span)
        if not strong and not weak:
            return NOT_A_REQUEST
        for start, end in strong + weak:
            message.take(start, end)
        today = now.astimezone(zone).date()
        notes: list[str] = []
        repeat = self.when.repeat(message, notes)
        leads = self.when.leads(message, notes)
        day = self.when.soon(message, zone, now) or self.when.date(message, today)
        if not strong and day is None and not leads:
            return NOT_A_REQUEST
        at, at_note = (day.at, day.at_note) if day and day.at else self.when.time(message)
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
        return self._kind(self.tokenizer.tokens(text[:MAX_CHARS]).words)

    # --- is it a request --------------------------------------------------------------------

    def _refused(self, words: list[str]) -> bool:
        """About reminders but not asking for one: negated, managing one, or a question."""
        if find_all(words, self.not_requests):
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
            return bool(find_all(rest[1:5], self.when_needs))
        return True

    # --- what it is about ------------------------------------------------------------------

    def _credentials(self, words: list[str]) -> list[str]:
        found: dict[str, int] = {}
        taken = [False] * len(words)
        for name, entry in self.credential_names:
            for start, end in find_all(words, [name]):
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
        for kind, names in self.kinds:
            if find_all(words, names):
                return kind
        return None

    def _title(self, message: Message, triggers: list[tuple[int, int]]) -> str | None:
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

"""A reminder request's message as words: tokens, misspellings corrected, and which are read.

The bottom of the request reader (:mod:`bot.reminders.request` reads what it is about,
:mod:`bot.reminders.when` reads when); it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz.distance import DamerauLevenshtein

from bot import dates
from bot.schema import ReminderWordsFile

_EDGE_PUNCTUATION = " \t\r\n.,;:!?\"'`()[]{}<>\u00ab\u00bb\u201c\u201d\u2018\u2019*_~"


@dataclass
class Message:
    """The message as tokens: what the user typed, a normalised form, and what is read."""

    typed: list[str]
    words: list[str]
    used: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = [False] * len(self.words)

    def text(self, start: int, end: int) -> str:
        """The normalised words from ``start`` to ``end``, as one string."""
        return " ".join(self.words[start:end])

    def free(self, start: int, end: int) -> bool:
        """Whether none of the words from ``start`` to ``end`` is read yet."""
        return end <= len(self.words) and not any(self.used[start:end])

    def take(self, start: int, end: int) -> None:
        """Mark the words from ``start`` to ``end`` as read."""
        for i in range(start, end):
            self.used[i] = True


class Tokenizer:
    """Splits messages into words and corrects misspelt date and trigger words."""

    def __init__(self, words: ReminderWordsFile, acronyms: dict[str, str]) -> None:
        """Prepare the vocabulary that misspellings are corrected to."""
        vocabulary = {*acronyms}
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

    def tokens(self, text: str) -> Message:
        """``text`` as tokens, misspelt date and trigger words corrected."""
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
        return Message(typed, words)

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


def phrases(items: Iterable[str]) -> list[list[str]]:
    """Each phrase as its words, the longest first."""
    return sorted((item.split() for item in items), key=lambda words: -len(words))


def find_all(words: list[str], phrases: list[list[str]]) -> list[tuple[int, int]]:
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

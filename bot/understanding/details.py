"""Which part of a topic a message asks for: one named detail, or the whole topic.

A detail answers when the message names it (its ``names`` in ``knowledge/``, after the
lexicon's synonyms: "pay in RI?" names Rhode Island) or quotes a figure only that detail's
answer gives. The whole topic answers when the message names two or more of its details
("upsides and downsides") or uses one of the lexicon's ``whole_topic`` words ("walk me
through the levels").
"""

from __future__ import annotations

from bot.schema import Detail, Entry
from bot.understanding.matcher import Match, figures


def asked_detail(entry: Entry, match: Match) -> Detail | None:
    """The one detail of ``entry`` that ``match`` asks for, or None (none, or the whole topic)."""
    if match.whole:
        return None
    words = {*match.words, *match.said}  # "courses": the synonyms make it "course"
    named = [d for d in entry.details if words.intersection(d.names)]
    if not named and match.numbers:
        quoted = set(match.numbers)
        named = [d for d in entry.details if quoted & figures(d.answer)]
    return named[0] if len(named) == 1 else None


def names_a_detail(entry: Entry, match: Match) -> bool:
    """Whether ``match`` names any detail of ``entry`` (one or several)."""
    words = {*match.words, *match.said}
    return any(words.intersection(d.names) for d in entry.details)

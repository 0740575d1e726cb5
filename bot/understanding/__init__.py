"""Understanding messages: the one interface the engine uses.

``build_matcher(kb)`` gives a :class:`Matcher` whose ``match(text)`` returns a :class:`Match`
(an :class:`Outcome`, the ranked intents, the words understood); ``asked_detail(entry, match)``
is the part of a topic the message asks for (one detail, or None for the whole topic).
Inside: the rapidfuzz lexical stage (``matcher.py``), the sentence-embedding classifier
(``semantic.py``) over the ONNX model (``embedder.py``), in a cascade. ``problems(kb)`` is
what ``check`` reports about the model and the classifier artifact; :class:`ModelError` names a
missing or corrupt model file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.understanding.details import asked_detail, names_a_detail
from bot.understanding.embedder import ModelError
from bot.understanding.matcher import Match, Matcher, Outcome, figures

if TYPE_CHECKING:
    from bot.knowledge import Knowledge, Problem

__all__ = [
    "Match",
    "Matcher",
    "ModelError",
    "Outcome",
    "asked_detail",
    "build_matcher",
    "names_a_detail",
    "problems",
]


def build_matcher(kb: Knowledge) -> Matcher:
    """A matcher over the knowledge's intents, knowing every detail name, with the semantic stage.

    Raises :class:`ModelError` (naming the file) when the embedding model is missing or corrupt.
    """
    from bot.understanding.semantic import load_semantic  # numpy and the model load lazily

    names = {n for e in kb.entries.values() for d in e.details for n in d.names}
    quoted: dict[str, set[str]] = {}  # figure -> the intents whose answer quotes it
    for intent in kb.intents.values():
        entry = kb.entries.get(intent.answer or "")
        if entry is None:
            continue
        texts = [entry.answer, entry.more or "", *(d.answer for d in entry.details)]
        for figure in figures(" ".join(texts)):
            quoted.setdefault(figure, set()).add(intent.id)
    semantic = load_semantic(kb)
    return Matcher(list(kb.intents.values()), kb.lexicon, names, semantic, quoted)


def problems(kb: Knowledge) -> list[Problem]:
    """What ``check`` reports about the semantic stage: the model file, the artifact."""
    from bot.understanding.semantic import problems as semantic_problems

    return semantic_problems(kb)

"""Typed text read as the answer to a tour's step: an option by its label, its ``means`` words, a
yes or no, its place ("the second one"), or a number; a question is never taken as an answer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process, utils

from bot.knowledge import Knowledge
from bot.schema import Step

Vectors = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Vectors]  # texts -> unit vectors, one row each

QUESTION_WORDS = {"what", "how", "why", "when", "where", "who", "which", "is", "are", "do", "does"}
QUESTION_WORDS |= {"can", "could", "should", "would", "will", "whats", "hows", "wat"}
SHORT_ANSWER = 3  # words: "nursing home?" is still a (hesitant) answer
PLAIN_WORDS = {"a", "an", "the", "or", "and", "in", "of", "for", "to", "my", "i", "im", "yes"}
SPELLED = 90  # rapidfuzz token-set score from which typed text spells an option's label
# By meaning: the cosine of the typed answer with an option's label or one of its ``means``
# words, and its lead over the next option, from which the answer is taken as that option.
# Chosen on hand-written answers and non-answers ("hello", "my dog is called Rex" are none),
# never on a test set.
MEANT_COSINE = 0.52
MEANT_LEAD = 0.10
MEANT_WORDS = 8  # a longer message is a statement or a question, not a step's answer
# the options' words as vectors, by text: the process has one embedder, and a /reload embeds
# only the words it has not seen
_VECTORS: dict[str, Vectors] = {}


class TypedAnswers:
    """Reads typed text against a step's options, with the tours' words (``kb.tours``)."""

    def __init__(self, kb: Knowledge, embed: Embed | None = None) -> None:
        """Read with ``kb``'s tour words (asides, yes and no, ordinals); with ``embed``, an
        answer no word of which picks an option is matched to the options by meaning (every
        option's words are embedded here, once per process, not in a user's turn)."""
        self.tours = kb.tours
        self.embed = embed
        if embed is not None:
            texts = {t for d in kb.dialogs.values() for s in d.steps for t in _option_texts(s)}
            fresh = sorted(texts - _VECTORS.keys())
            if fresh:
                _VECTORS.update(zip(fresh, embed(fresh), strict=True))

    def asks(self, text: str) -> bool:
        """Whether typed text is a question rather than an answer to a step: a question word
        first once the asides are left out ("wait, do nursing home admins need a license"), or
        a question mark in more than a few words ("quick one: how long do those take?")."""
        words = f" {utils.default_process(text)} "
        for aside in sorted(self.tours.asides, key=len, reverse=True):
            words = words.replace(f" {aside} ", " ")
        said = [w for w in words.split() if w not in self.tours.fillers]
        if said and said[0] in QUESTION_WORDS:
            return True
        return "?" in text and len(text.split()) > SHORT_ANSWER

    def option(self, step: Step, text: str) -> str | None:
        """The id of the option of a single-choice step that typed text picks, if one."""
        if step.multi or not step.options or self.asks(text):
            return None
        said = _affirmed(utils.default_process(text))
        labels = {o.id: utils.default_process(o.label) for o in step.options}
        best = process.extractOne(said, labels, scorer=fuzz.token_set_ratio, score_cutoff=SPELLED)
        found = best[2] if best else _meant(step, said)
        polar = self._polarity(text)
        if polar and (found is None or labels[found].split()[:1] not in ([], [polar])):
            # "I don't have one": of the options that open with "No", the one it fits
            answers = [o for o in step.options if labels[o.id].split()[:1] == [polar]]
            found = answers[0].id if len(answers) == 1 else None
            if len(answers) > 1:
                found = _meant(step.model_copy(update={"options": answers}), said)
        if found is None:
            found = self._ordinal(step, text)
        return found if found is not None else self._nearest(step, text)

    def _nearest(self, step: Step, text: str) -> str | None:
        """The option whose label or ``means`` words are nearest in meaning to a short typed
        answer ("keeping patients safe": quality improvement), when it clearly leads."""
        if self.embed is None or not _option_texts(step) or len(text.split()) > MEANT_WORDS:
            return None  # a step with an input of its own reads typed text with it ("07:30")
        ids, vectors = self._vectors(step)
        cosines = vectors @ self.embed([text])[0]
        best: dict[str, float] = {}
        for option_id, cosine in zip(ids, cosines.tolist(), strict=True):
            best[option_id] = max(best.get(option_id, -1.0), cosine)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
        top, cosine = ranked[0]
        return top if cosine >= MEANT_COSINE and cosine - runner_up >= MEANT_LEAD else None

    @staticmethod
    def _vectors(step: Step) -> tuple[list[str], Vectors]:
        """Each option's label and ``means`` words as vectors, with the option ids beside them."""
        pairs = [(o.id, t) for o in step.options for t in [o.label, *o.means]]
        return [i for i, _ in pairs], np.stack([_VECTORS[t] for _, t in pairs])

    def _ordinal(self, step: Step, text: str) -> str | None:
        """The option a short answer picks by its place ("the second one", "2", "option 3")."""
        words = utils.default_process(text).split()
        if not words or len(words) > SHORT_ANSWER + 1 or step.input == "number":
            return None
        ordinals = self.tours.ordinals
        places = [
            int(w) if w.isdigit() else ordinals.index(w) + 1
            for w in words
            if (w.isdigit() and len(w) == 1) or w in ordinals
        ]
        if len(places) != 1 or not 1 <= places[0] <= len(step.options):
            return None
        return step.options[places[0] - 1].id

    def _polarity(self, text: str) -> str | None:
        """ "yes" or "no" when typed text says one ("yep", "I don't", "never"), unless it is
        unsure ("not sure", "dunno")."""
        words = f" {utils.default_process(text)} "
        tours = self.tours
        if any(f" {p} " in words for p in tours.unsure):
            return None
        said = [
            v
            for v, ps in (("yes", tours.yes), ("no", tours.no))
            if any(f" {p} " in words for p in ps)
        ]
        return said[0] if len(said) == 1 else None


def _option_texts(step: Step) -> list[str]:
    """The texts an option is matched by in meaning: its label and its ``means`` words (only
    for a single-choice step with no input of its own)."""
    if step.multi or step.input is not None:
        return []
    return [t for o in step.options for t in [o.label, *o.means]]


def _affirmed(said: str) -> str:
    """What a typed answer says it means: the words after a "not" are what it does not mean."""
    words = said.split()
    for negation in ("not", "no"):
        if negation in words[1:]:
            words = words[: words.index(negation, 1)]
    return " ".join(words)


def _meant(step: Step, said: str) -> str | None:
    """The option whose label or ``means`` words a typed answer uses most (a question is not an
    answer)."""
    words = said.split()
    if not words or words[0] in QUESTION_WORDS:
        return None
    # "25:00" is not the 09:00 button, nor is the "m" of "i'm" the one of "Yes, I'm a nurse"
    used = {w for w in words if w.isalpha() and len(w) > 1} - PLAIN_WORDS
    scores = {
        o.id: len(used & (set(utils.default_process(o.label).split()) | set(o.means)))
        for o in step.options
    }
    ranked = sorted(scores.values(), reverse=True)
    if not ranked or ranked[0] == 0 or (len(ranked) > 1 and ranked[1] == ranked[0]):
        return None
    return max(scores, key=lambda k: scores[k])


NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}


def number(text: str) -> float | None:
    """A number typed alone ("4", "4 yrs"), or the one number of a short statement ("senior
    manager, about ten years in"); a question is not an answer."""
    exact = _plain_number(text)
    if exact is not None or "?" in text:
        return exact
    words = [w.strip(".,;:!()") for w in text.lower().split()]  # "five-ish" stays vague
    if not words or words[0] in QUESTION_WORDS:
        return None
    found = [float(NUMBER_WORDS.get(w, w)) for w in words if w in NUMBER_WORDS or w.isdigit()]
    return found[0] if len(found) == 1 else None


def _plain_number(text: str) -> float | None:
    cleaned = text.strip().lower()
    for unit in ("years", "year", "yrs", "yr", "y"):
        cleaned = cleaned.removesuffix(unit)
    try:
        value = float(cleaned.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None

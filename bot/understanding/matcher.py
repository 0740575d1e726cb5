"""Intent matching: typo-tolerant, IDF-weighted word overlap plus rapidfuzz similarity.

The pipeline for a message: rapidfuzz's ``default_process`` (lowercase, punctuation to spaces),
base forms and spelling correction of unknown words against the examples' vocabulary (rapidfuzz
Damerau-Levenshtein), the lexicon's synonyms, stopword removal. Then gates decide whether the bot
may answer at all: a health question is redirected; a question whose unknown words outnumber its
known ones, or with an unknown word and no word of this field ("how do I become a pilot"), or
about another job without a role of this field ("how much does a nurse make"), is off-topic.
What passes is scored against the intents (see :meth:`Matcher.rank`); the README reports the
numbers behind the blend and the thresholds.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import DamerauLevenshtein

from bot.schema import Intent, LexiconFile

if TYPE_CHECKING:
    from bot.understanding.semantic import Semantic, Verdict

# Chosen by bench/calibrate.py (cross-validation on the intents; never the labelled test set).
CONFIDENT = 0.54  # a top score at or above this answers ...
MARGIN = 0.02  # ... when it leads the runner-up by at least this much
CLEAR_SCORE = 0.46  # a lower top score also answers ...
CLEAR_LEAD = 0.06  # ... when it leads the runner-up by this much
UNSURE = 0.30  # between UNSURE and an answer: "did you mean"; below: off-topic
FUZZY_WEIGHT = 0.3  # share of rapidfuzz ratio on sorted words in the blended score
CENTROID_WEIGHT = 0.3  # share of the intent's pooled vocabulary in the word score
GRAM_WEIGHT = 0.3  # share of the character n-gram score (word forms: manage/management)
GRAM_SIZES = (3, 4)
UNKNOWN_WEIGHT = 0.5  # weight of a word no example uses, as a share of the rarest word's IDF
NEAREST = 2  # an intent's example score: the mean of its this many closest examples
SHORTLIST = 12  # intents refined with the costlier fuzzy and n-gram scores
MIN_CORRECTABLE = 4  # words shorter than this are not spell-corrected (too many false friends)
# The cascade with a semantic stage (semantic.py here). Chosen by bench/calibrate_semantic.py
# (cross-validation on the intents and out_of_scope.yaml; never a test set).
NEAR_COPY = 0.80  # a lexical answer this sure (a near-copy of an example) answers first
SEMANTIC_CONFIDENT = 0.75  # the classifier's top probability at or above this answers ...
SEMANTIC_MARGIN = 0.10  # ... leading the runner-up by this much ...
NEAREST_COSINE = 0.50  # ... when an example of that intent is at least this close
SEMANTIC_UNSURE = 0.25  # between this and an answer: "did you mean"
UNSURE_COSINE = 0.40  # ... if an example of the top intent is at least this close
AGREE_PROB = 0.45  # both stages rank the same intent first: the classifier this sure answers ...
AGREE_SCORE = 0.30  # ... when the lexical stage scores it at least this
DISPUTE_SCORE = 0.45  # a confident lexical top this strong, another of the classifier's top
DISPUTE_RANK = 2  # ... DISPUTE_RANK, turns the classifier's sure answer into "did you mean"
DISPUTE_BELOW = 0.95  # ... unless the classifier is at least this sure
MAX_READ = 2000  # characters of a message the matcher reads (the user still sees all of it)
FIGURE_TOPICS = 2  # a figure quoted by at most this many intents' answers identifies them ...
FIGURE_RANK = 3  # ... when one of them is among the unsure question's top this many
FIGURE = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")  # thousands separators: 101,340 -> 101340


class Outcome(StrEnum):
    """What the matcher concluded about a message."""

    CONFIDENT = "confident"
    UNSURE = "unsure"
    OFF_TOPIC = "off_topic"
    MEDICAL = "medical"
    EMPTY = "empty"


@dataclass
class Match:
    """The verdict on one message: the outcome, the ranked intents, and the words understood."""

    outcome: Outcome
    ranked: list[tuple[str, float]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    whole: bool = False  # the message asks for a whole topic ("both", "all the levels")
    numbers: list[str] = field(default_factory=list)  # figures it quotes: "$101,340" -> 101340
    said: list[str] = field(default_factory=list)  # its content words before the synonyms
    outside: float = 0.0  # the classifier's probability that it is outside the field

    @property
    def intent(self) -> str | None:
        """The best intent, or None when nothing scored."""
        return self.ranked[0][0] if self.ranked else None

    @property
    def score(self) -> float:
        """The best score, 0..1."""
        return self.ranked[0][1] if self.ranked else 0.0


class Matcher:
    """Matches free text to intents; built once from the intents and the lexicon."""

    def __init__(
        self,
        intents: list[Intent],
        lexicon: LexiconFile,
        extra_words: set[str],
        semantic: Semantic | None = None,
        numbers: dict[str, set[str]] | None = None,
    ) -> None:
        """Preprocess every example once; ``extra_words`` (detail names) join the vocabulary.

        With ``semantic``, what the lexical stage is not sure of goes to the classifier.
        ``numbers`` maps a figure the answers quote (``101340``) to the intents answering with it.
        """
        self.semantic = semantic
        self.numbers = numbers or {}
        self.whole_topic = set(lexicon.whole_topic)
        self.stopwords = set(lexicon.stopwords)
        self.field = set(lexicon.field)
        self.medical = set(lexicon.medical)
        self.occupations = {
            w for p in lexicon.occupations for w in utils.default_process(p).split()
        }
        self.roles = set(lexicon.roles)
        places = {w for p in lexicon.places for w in utils.default_process(p).split()}
        self._synonyms = _synonym_rule(lexicon.synonyms)
        self._place_names = _place_rule(lexicon.synonyms, places)
        self._spell_out = _phrase_rule(_variants(lexicon.spelled_out))
        lexicon_words = {
            w
            for phrase in [*lexicon.synonyms, *(v for vs in lexicon.synonyms.values() for v in vs)]
            for w in utils.default_process(phrase).split()
        }
        raw_words = {
            w
            for intent in intents
            for ex in intent.examples
            for w in utils.default_process(ex).split()
        }
        self.vocabulary = raw_words | lexicon_words | places | extra_words | self.stopwords
        self.vocabulary |= self.field | self.medical | self.occupations | self.roles
        self.vocabulary |= self.whole_topic
        self.places = places
        # spelling targets by first letter; medical words apart, as they are corrected to only
        # from one edit away ("visiting" is not "vomiting", but "vomitting" is)
        self._by_initial: dict[str, list[str]] = defaultdict(list)
        self._medical_by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            group = self._medical_by_initial if word in self.medical else self._by_initial
            group[word[:1]].append(word)
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)

        self.example_text: list[str] = []
        self.example_intent: list[str] = []
        example_words: list[set[str]] = []
        pooled: dict[str, set[str]] = defaultdict(set)
        for intent in intents:
            for ex in intent.examples:
                words = self.content_words(self.normalize(ex))
                self.example_text.append(" ".join(sorted(words)))
                self.example_intent.append(intent.id)
                example_words.append(set(words))
                pooled[intent.id].update(words)
        n = len(pooled)
        df: dict[str, int] = defaultdict(int)
        for pool in pooled.values():
            for w in pool:
                df[w] += 1
        self.idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
        self.unknown_idf = UNKNOWN_WEIGHT * math.log(n + 1)
        self.index: dict[str, list[int]] = defaultdict(list)
        self.example_norm: list[float] = []
        for i, example in enumerate(example_words):
            for w in example:
                self.index[w].append(i)
            self.example_norm.append(self._norm(example))
        self.pooled = dict(pooled)
        self.intent_texts: dict[str, list[str]] = defaultdict(list)
        for text, intent_id in zip(self.example_text, self.example_intent, strict=True):
            self.intent_texts[intent_id].append(text)
        self.pooled_norm = {k: self._norm(v) for k, v in pooled.items()}
        self.pooled_index: dict[str, list[str]] = defaultdict(list)
        for intent_id, pool in pooled.items():
            for w in pool:
                self.pooled_index[w].append(intent_id)
        self._build_grams(intents)

    def _build_grams(self, intents: list[Intent]) -> None:
        """A TF-IDF vector of character n-grams per intent, for word forms the examples lack."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for intent in intents:
            for ex in intent.examples:
                for w in self.content_words(self.normalize(ex)):
                    counts[intent.id].update(_grams(w))
        df: Counter[str] = Counter(g for c in counts.values() for g in c)
        n = len(counts)
        self.gram_idf = {g: math.log((n + 1) / (c + 0.5)) for g, c in df.items()}
        self.gram_vectors = {
            intent_id: _unit({g: (1 + math.log(k)) * self.gram_idf[g] for g, k in c.items()})
            for intent_id, c in counts.items()
        }

    def _gram_vector(self, words: set[str]) -> dict[str, float]:
        grams: Counter[str] = Counter(g for w in words for g in _grams(w))
        return _unit({g: (1 + math.log(k)) * self.gram_idf.get(g, 0.0) for g, k in grams.items()})

    def _norm(self, words: set[str]) -> float:
        return math.sqrt(sum(self.idf.get(w, self.unknown_idf) ** 2 for w in words)) or 1.0

    def _correct_uncached(self, word: str) -> str:
        """The vocabulary word ``word`` is a typo of, or ``word`` itself.

        Typos rarely hit the first letter, and an edit distance of 1 (2 for long words) keeps
        real words apart: "salry" -> "salary", but "engineer" stays (not "beginner").
        """
        if word in self.vocabulary or len(word) < MIN_CORRECTABLE or not word.isalpha():
            return word
        for stem in _word_forms(
            word
        ):  # "responsibilities" -> "responsibility", "hiring" -> "hire"
            if stem in self.vocabulary:
                return stem
        max_edits = 1 if len(word) < 8 else 2
        found = process.extractOne(
            word,
            self._by_initial.get(word[0], []),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=max_edits,
        )
        if found and found[1] <= 1:
            return str(found[0])
        medical = process.extractOne(
            word,
            self._medical_by_initial.get(word[0], []),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=1,
        )
        return str((medical or found or (word,))[0])

    def normalize(self, text: str) -> list[str]:
        """Lowercase, strip punctuation, correct typos and apply synonyms; return the words.

        A figure keeps its digits together ("$101,340" -> "101340").
        """
        words = utils.default_process(join_figures(text)).split()
        corrected = " ".join(self._correct(w) for w in words)
        return self._synonyms(corrected).split()

    def content_words(self, words: list[str]) -> list[str]:
        """The words that carry meaning: no stopwords, no repeats."""
        return list(dict.fromkeys(w for w in words if w not in self.stopwords))

    def match(self, text: str) -> Match:
        """Classify ``text``: answer, suggest, redirect or reject.

        The cascade: the health and other-occupation gates; a lexical near-copy answers; then
        the semantic classifier; without one, the lexical verdict stands.
        """
        text = text[:MAX_READ]
        lexical = self.lexical_match(text)
        found = self._cascade(text, lexical)
        raw = utils.default_process(join_figures(text)).split()  # before synonyms: "levels"
        found.whole = any(w in self.whole_topic for w in raw)
        found.numbers = list(dict.fromkeys(w for w in raw if w in self.numbers))
        found.said = self.content_words(raw)
        return self._by_figure(found, lexical)

    def _cascade(self, text: str, lexical: Match) -> Match:
        if self.semantic is None or lexical.outcome is Outcome.EMPTY:
            return lexical
        if lexical.outcome is Outcome.MEDICAL:
            return self._medical(self.semantic, text, lexical)
        if lexical.outcome is Outcome.CONFIDENT and lexical.score >= NEAR_COPY:
            return lexical
        if self._other_job(lexical.words):
            return Match(Outcome.OFF_TOPIC, lexical.ranked, lexical.words)
        from bot.understanding.semantic import OOS

        verdict = self.semantic.classify(self.model_text(text))
        found = self._semantic_match(verdict, lexical)
        found.outside = dict(verdict.ranked).get(OOS, 0.0)
        return found

    def model_text(self, text: str) -> str:
        """The message as the classifier reads it: places spelled out as their state, and
        texting shorthand as its words ("how 2 become a hsm" -> "how to become a health
        services manager")."""
        return self._spell_out(self._place_names(text))

    def _medical(self, semantic: Semantic, text: str, lexical: Match) -> Match:
        """A medical word does not make a health question when the classifier is sure of a
        topic of this field ("a front desk job at a family medicine clinic: which groups
        should I join?"); anything less sure keeps the "not medical advice" redirect."""
        verdict = semantic.classify(self.model_text(text))
        if self._sure(verdict):
            ranked = [(c, p) for c, p in verdict.ranked if c in self.pooled]
            return Match(Outcome.CONFIDENT, ranked, lexical.words)
        return lexical

    @staticmethod
    def _sure(verdict: Verdict) -> bool:
        """The classifier's own bar for an answer: probability, lead and a close example."""
        from bot.understanding.semantic import OOS

        top, prob = verdict.ranked[0]
        return (
            top != OOS
            and prob >= SEMANTIC_CONFIDENT
            and verdict.margin >= SEMANTIC_MARGIN
            and verdict.nearest.get(top, 0.0) >= NEAREST_COSINE
            and not _nearer_off_topic(verdict, top)
        )

    @staticmethod
    def _disputed(lexical: Match, top: str, ranked: list[tuple[str, float]]) -> bool:
        """Whether the lexical stage is sure of another of the classifier's top intents
        ("lowest to highest, what do they get paid": pay range by its words, top pay by the
        model): then "did you mean" offers both rather than a confident guess."""
        return (
            lexical.outcome is Outcome.CONFIDENT
            and lexical.intent != top
            and lexical.score >= DISPUTE_SCORE
            and lexical.intent in dict(ranked[:DISPUTE_RANK])
        )

    def _by_figure(self, found: Match, lexical: Match) -> Match:
        """A figure from the bot's own answers is on topic: it confirms the lexical stage's
        confident topic when that topic's answer quotes it, and a figure only one or two
        answers quote settles an unsure question among the top-ranked topics.

        "is $101,340 the median or the average?": the median salary answer quotes 101340.
        """
        if found.outcome not in (Outcome.UNSURE, Outcome.OFF_TOPIC) or not found.numbers:
            return found
        quoting = set.intersection(*(self.numbers[n] for n in found.numbers))
        candidates = []
        if lexical.outcome is Outcome.CONFIDENT:
            candidates = lexical.ranked[:1]
        if len(quoting) <= FIGURE_TOPICS and found.outcome is Outcome.UNSURE:
            candidates += found.ranked[:FIGURE_RANK]
        for intent_id, score in candidates:
            if intent_id in quoting:
                ranked = [(intent_id, score)] + [r for r in found.ranked if r[0] != intent_id]
                return replace(found, outcome=Outcome.CONFIDENT, ranked=ranked)
        return found

    def _other_job(self, content: list[str]) -> bool:
        """Another occupation named without a word or role of this field ("a nurse's pay")."""
        if not any(w in self.occupations for w in content):
            return False
        return not any(w in self.field or w in self.roles for w in content)

    def _semantic_match(self, verdict: Verdict, lexical: Match) -> Match:
        """Decide from the classifier's verdict, Rasa-fallback style."""
        from bot.understanding.semantic import OOS

        ranked = [(c, p) for c, p in verdict.ranked if c != OOS and c in self.pooled]
        top, prob = verdict.ranked[0]
        if top == OOS:
            return Match(Outcome.OFF_TOPIC, ranked, lexical.words)
        near = verdict.nearest.get(top, 0.0)
        if self._sure(verdict):
            if prob < DISPUTE_BELOW and self._disputed(lexical, top, ranked):
                return Match(Outcome.UNSURE, ranked, lexical.words)
            return Match(Outcome.CONFIDENT, ranked, lexical.words)
        if lexical.outcome is Outcome.CONFIDENT and lexical.intent in dict(ranked[:2]):
            return lexical  # both stages agree on it
        if (
            lexical.outcome is Outcome.UNSURE
            and lexical.intent == top
            and lexical.score >= AGREE_SCORE
            and prob >= AGREE_PROB
            and near >= UNSURE_COSINE
            and not _nearer_off_topic(verdict, top)
        ):
            return Match(Outcome.CONFIDENT, ranked, lexical.words)  # both rank it first
        if prob >= SEMANTIC_UNSURE and near >= UNSURE_COSINE:
            return Match(Outcome.UNSURE, ranked, lexical.words)
        if lexical.outcome is Outcome.UNSURE:
            return lexical
        return Match(Outcome.OFF_TOPIC, ranked, lexical.words)

    def lexical_match(self, text: str) -> Match:
        """The rapidfuzz stage's verdict alone: answer, suggest, redirect or reject."""
        words = self.normalize(text[:MAX_READ])
        content = [w for w in self.content_words(words) if not _is_figure(w)]
        if not content:
            has_words = bool(words) and any(w in self.vocabulary for w in words)
            return Match(Outcome.OFF_TOPIC if has_words else Outcome.EMPTY, words=words)
        if any(w in self.medical for w in content):
            return Match(Outcome.MEDICAL, words=content)
        known = [w for w in content if w in self.vocabulary]
        unknown = len(content) - len(known)
        anchors = [w for w in known if w in self.field]
        ranked = self.rank(content)
        if unknown > len(known) or (unknown and not anchors):
            return Match(Outcome.OFF_TOPIC, ranked, content)
        other_job = any(w in self.occupations for w in content)
        if other_job and not anchors and not any(w in self.roles for w in content):
            return Match(Outcome.OFF_TOPIC, ranked, content)  # "how much does a nurse make"
        if not ranked or ranked[0][1] < UNSURE:
            return Match(Outcome.OFF_TOPIC, ranked, content)
        top = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        lead = top - runner_up
        if (top >= CONFIDENT and lead >= MARGIN) or (top >= CLEAR_SCORE and lead >= CLEAR_LEAD):
            return Match(Outcome.CONFIDENT, ranked, content)
        return Match(Outcome.UNSURE, ranked, content)

    def rank(self, content: list[str]) -> list[tuple[str, float]]:
        """Score the intents sharing a word with ``content``, best first.

        Word score: IDF-weighted cosine with the best single example, blended with the cosine
        against the intent's pooled words (which rewards paraphrases mixing several examples).
        The best ``SHORTLIST`` intents by word score are then refined with rapidfuzz ``ratio``
        on sorted words (near-copies with residual typos) and character n-grams (word forms).
        """
        q = set(content)
        q_norm = self._norm(q)
        dots: dict[int, float] = defaultdict(float)
        pooled_dot: dict[str, float] = defaultdict(float)
        for w in q:
            weight = self.idf.get(w, 0.0) ** 2
            for i in self.index.get(w, ()):
                dots[i] += weight
            for intent_id in self.pooled_index.get(w, ()):
                pooled_dot[intent_id] += weight
        near: dict[str, list[float]] = defaultdict(list)
        for i, dot in dots.items():
            near[self.example_intent[i]].append(dot / (q_norm * self.example_norm[i]))
        best = {k: _top_mean(v, NEAREST) for k, v in near.items()}
        word = {
            intent_id: (1 - CENTROID_WEIGHT) * cos
            + CENTROID_WEIGHT * pooled_dot[intent_id] / (q_norm * self.pooled_norm[intent_id])
            for intent_id, cos in best.items()
        }
        shortlist = sorted(word, key=word.__getitem__, reverse=True)[:SHORTLIST]
        query_text = " ".join(sorted(q))
        gram_query = self._gram_vector(q)
        scores: dict[str, float] = {}
        for intent_id in shortlist:
            fuzzy = process.extractOne(query_text, self.intent_texts[intent_id], scorer=fuzz.ratio)
            blended = (1 - FUZZY_WEIGHT) * word[intent_id] + FUZZY_WEIGHT * (
                fuzzy[1] / 100 if fuzzy else 0.0
            )
            grams = self.gram_vectors.get(intent_id, {})
            gram = sum(x * grams.get(g, 0.0) for g, x in gram_query.items())
            scores[intent_id] = (1 - GRAM_WEIGHT) * blended + GRAM_WEIGHT * gram
        return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


SUFFIXES = (
    ("ies", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("es", ""),
    ("s", ""),
    ("ly", ""),
    ("ment", ""),
    ("ments", ""),
    ("er", ""),
    ("ers", ""),
)


def _nearer_off_topic(verdict: Verdict, intent: str) -> bool:
    """Whether an off-topic example is at least as close to the message as any of ``intent``'s:
    then the classifier's lead is not trusted ("my real estate license in California": the
    licence intents win the vote, but a negative example is the closest phrase)."""
    from bot.understanding.semantic import OOS

    return verdict.nearest.get(OOS, 0.0) >= verdict.nearest.get(intent, 0.0)


def join_figures(text: str) -> str:
    """Keep a figure's digits together through punctuation stripping: "$101,340" -> "101340"."""
    return FIGURE.sub("", text)


def figures(text: str) -> set[str]:
    """The figures a text quotes, as :meth:`Matcher.normalize` spells them (3 digits or more)."""
    return {w for w in utils.default_process(join_figures(text)).split() if _is_figure(w)}


def _is_figure(word: str) -> bool:
    return len(word) >= 3 and word.isdigit()


def _word_forms(word: str) -> list[str]:
    """Plausible base forms of an inflected word, most specific first."""
    return [
        word[: -len(end)] + add
        for end, add in SUFFIXES
        if word.endswith(end) and len(word) - len(end) >= 3
    ]


def _top_mean(values: list[float], k: int) -> float:
    """The mean of the ``k`` largest values (fewer if there are fewer)."""
    top = sorted(values, reverse=True)[:k]
    return sum(top) / k if len(top) == k else sum(top) / (len(top) + 1)


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
    return {k: x / norm for k, x in vector.items()}


def _grams(word: str) -> list[str]:
    marked = f"<{word}>"
    return [marked[i : i + k] for k in GRAM_SIZES for i in range(max(1, len(marked) - k + 1))]


def _synonym_rule(synonyms: dict[str, list[str]]) -> _Rewriter:
    table: dict[str, str] = {}
    for canonical, variants in synonyms.items():
        target = utils.default_process(canonical)
        for variant in variants:
            key = utils.default_process(variant)
            if key and key != target:
                table[key] = target
    return _Rewriter(table)


def _place_rule(synonyms: dict[str, list[str]], places: set[str]) -> Callable[[str], str]:
    """Spell out places for the model, in the user's own text: "pay in NYC?" -> "pay in new york?".

    The lexicon writes a postal code or a big city as its state (``new york usstate: [nyc]``);
    the model knows states far better than abbreviations. Case-insensitive, whole words.
    """
    table: dict[str, str] = {}
    for canonical, variants in synonyms.items():
        name = " ".join(w for w in canonical.split() if w in places)
        if not name or name == canonical:
            continue
        for variant in variants:
            if variant.lower() != name:
                table[variant.lower()] = name
    return _phrase_rule(table)


def _variants(spelled: dict[str, list[str]]) -> dict[str, str]:
    """Each variant (lowercase) to the phrase it stands for."""
    return {v.lower(): phrase for phrase, variants in spelled.items() for v in variants}


def _phrase_rule(table: dict[str, str]) -> Callable[[str], str]:
    """Replace the table's phrases in the user's own text: case-insensitive, whole words."""
    if not table:
        return lambda text: text
    keys = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")\b", re.IGNORECASE)
    return lambda text: pattern.sub(lambda m: table[m.group(0).lower()], text)


class _Rewriter:
    """Replaces whole-word phrases, longest first, in one pass."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        keys = sorted(table, key=len, reverse=True)
        self.pattern = (
            re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")\b") if keys else None
        )

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.table[m.group(0)], text)

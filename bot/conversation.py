"""The conversation context: what the last answers were about, so a follow-up keeps its thread.

Kept in the user's row (``users.context``, shown by ``/export``, deleted by ``/forget``) as a
:class:`Context`: the last topic and detail and the entities in play (a state, a credential, a
degree, a level). It expires after a quiet spell or a few turns that did not use it, so nothing of
it is kept for users who left. :class:`Threads` reads a message with it before the off-topic
decision: a state named alone after a topic listed in ``knowledge/conversation.yaml`` is that
topic's question for that state; a short message with no topic of its own, and no word from
outside the field, is matched with the last topic's title in front of it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, ValidationError
from rapidfuzz import utils

from bot.knowledge import Knowledge
from bot.schema import Detail, Entry, FollowUp, ThreadWords
from bot.store import User
from bot.understanding import Match, Matcher, Outcome

QUIET = 30 * 60  # seconds without a message after which the context is gone
TURNS = 4  # turns without an answer from the knowledge after which it is gone
SHORT_PAIR = 4  # words: "X and Y?" this short asks about both (when both are understood)
FOLLOW_UP_WORDS = 6  # content words: a longer message stands on its own
# the classifier's probability of "out of scope" from which a short message stands on its own
# however much it shares with the thread: the shared words are no reason to answer it
SURELY_OUTSIDE = 0.95


class Context(BaseModel):
    """What the conversation is about, as stored in ``users.context`` (JSON)."""

    model_config = ConfigDict(extra="ignore")

    topic: str | None = None  # the entry last answered
    detail: str | None = None  # its detail, when one was answered
    entities: dict[str, str] = {}  # kind (state, credential, degree, level) -> value named
    at: float = 0.0  # when the user last wrote (UTC epoch)
    turns: int = 0  # turns since the topic was last answered

    @classmethod
    def of(cls, user: User, now: float) -> Context:
        """The user's context, or an empty one when it expired or does not load."""
        try:
            context = cls.model_validate(user.context)
        except ValidationError:
            return cls(at=now)
        if now - context.at > QUIET or context.turns >= TURNS:
            return cls(at=now)
        return context

    def answered(self, entry: Entry, detail: Detail | None, words: ThreadWords) -> None:
        """An entry (or its detail) was the answer: it becomes the topic, and the entities it
        names are in play (a credential by its id, a level by a career ladder's detail)."""
        self.topic, self.detail, self.turns = entry.id, detail.id if detail else None, 0
        for prefix, kind in words.kinds.items():
            if entry.id.startswith(prefix):
                self.entities[kind] = entry.id
        if detail and entry.id in words.detail_kinds:
            self.entities[words.detail_kinds[entry.id]] = detail.id

    def store(self, user: User, now: float) -> None:
        """Write the context into the user's row (saved with the turn)."""
        self.at = now
        alive = self.topic and self.turns < TURNS
        user.context = self.model_dump(exclude_defaults=True) if alive else {}


class Threads:
    """Reads a message in the light of the conversation so far."""

    def __init__(self, kb: Knowledge, matcher: Matcher) -> None:
        """Follow ``kb``'s follow-up table, with ``matcher``'s vocabulary and places."""
        self.kb = kb
        self.matcher = matcher
        self.places = sorted(
            (utils.default_process(p) for p in kb.lexicon.places), key=len, reverse=True
        )
        self.place_words = {w for p in self.places for w in p.split()}
        self.answering = {i.answer: i.id for i in kb.intents.values() if i.answer}
        self.by_topic: dict[tuple[str, str], FollowUp] = {
            (topic, f.kind): f for f in kb.follow_ups for topic in f.after
        }

    def entities(self, text: str) -> dict[str, str]:
        """The entities a message names (so far: a US state)."""
        said = f" {utils.default_process(text)} "
        state = next((p for p in self.places if f" {p} " in said), None)
        return {"state": state} if state else {}

    def routed(self, context: Context, text: str) -> tuple[FollowUp, str] | None:
        """A state named alone ("and in ohio?") after a topic that has a follow-up for it."""
        state = self.entities(text).get("state")
        if not state or not context.topic:
            return None
        follow_up = self.by_topic.get((context.topic, "state"))
        if follow_up is None:
            return None
        rest = set(self._content(text)) - self.place_words - set(self.kb.threads.fillers)
        rest -= {w for w in rest if w.endswith("state")}  # the lexicon's state markers
        return (follow_up, state) if not rest else None

    def swapped(self, context: Context, text: str) -> tuple[Entry, Detail] | None:
        """A credential named alone after a detail of another ("and the CPHQ?" after "who
        issues the CMM?"), or after a topic about every credential ("same for CMM?" after
        renewal in general): that credential and the same detail, when it has one."""
        named = self.named(text)
        if len(named) != 1 or named[0].id == context.topic:
            return None
        held = context.topic in context.entities.values()
        aspect = context.detail if held else self.kb.threads.aspects.get(context.topic or "")
        detail = next((d for d in named[0].details if d.id == aspect), None)
        if detail is None:
            return None
        said = self.matcher.content_words(utils.default_process(text).split())
        rest = set(said) - set(self.kb.threads.fillers) - set(self.kb.named)
        return (named[0], detail) if not rest else None

    def leans(self, context: Context, text: str) -> bool:
        """Whether a message reads as a continuation of the context's topic: naming no other
        entry, it says nothing but a detail of the topic ("renewal?", "and the director
        tier?"), or one word more while pointing back at it ("do I have to renew it?")."""
        if context.topic is None or any(e.id != context.topic for e in self.named(text)):
            return False
        content = self._content(text)
        if len(content) > FOLLOW_UP_WORDS:
            return False
        entry = self.kb.entries.get(context.topic)
        names = {n for d in entry.details for n in d.names} if entry else set()
        said = utils.default_process(text).split()
        named = {n for w in said if w in names for n in self.matcher.normalize(w)}
        own = set(content) - names - named - set(self.kb.threads.fillers)  # "courses": course
        if not own:
            return True  # nothing but a detail of the topic: "renewal?", "and the director tier?"
        pointed = any(p in said for p in self.kb.threads.pointers)
        return pointed and len(own) == 1  # "do I have to renew it once I have it?"

    def picked(self, context: Context, text: str) -> Entry | None:
        """The item of the last answer's list a short message picks by a word of its title
        ("tell me about the nursing home one", "no wait, the quality one"): the answer's
        related entries and the credentials it names are the list."""
        entry = self.kb.entries.get(context.topic or "")
        said = utils.default_process(text).split()
        if entry is None or not {"one", "ones"} & set(said):
            return None
        content = self._content(text)
        if len(content) > FOLLOW_UP_WORDS:
            return None
        listed = [
            *entry.related,
            *(self.kb.named.get(w, "") for w in entry.answer.lower().split()),
        ]
        fillers = set(self.kb.threads.fillers)
        words = {w for w in self.matcher.content_words(said) if w not in fillers and len(w) >= 4}
        scores: dict[str, int] = {}
        for entry_id in dict.fromkeys(e for e in listed if e in self.kb.entries):
            title = utils.default_process(self.kb.entries[entry_id].title).split()
            scores[entry_id] = sum(any(_same_stem(w, t) for t in title) for w in words)
        best = sorted(scores.items(), key=lambda kv: -kv[1])
        if not best or best[0][1] == 0 or (len(best) > 1 and best[1][1] == best[0][1]):
            return None
        return self.kb.entries[best[0][0]]

    def match(self, context: Context, text: str, match: Match) -> Match:
        """``match`` unless the message only makes sense as a follow-up of the context's topic:
        then the match of the topic's title and the message together (with the message's own
        words, so details are chosen by what the user wrote)."""
        entry = self.kb.entries.get(context.topic or "")
        if entry is None or match.outcome in (Outcome.MEDICAL, Outcome.EMPTY):
            return match
        content = self._content(text)
        said = utils.default_process(text).split()
        if not said or len(content) > FOLLOW_UP_WORDS:
            return match  # "why not?" has no content word, yet asks about the topic
        pointed = any(p in said for p in self.kb.threads.pointers)
        thing = any(p in said for p in self.kb.threads.things)  # "they" are people
        held = thing and self._in_play(context)  # "is it worth it?", "how long is that?"
        if self._outside(content) or (self._declined(match) and not held):
            return match
        asks = set(self.kb.splits.question_words) | set(self.kb.threads.fillers)
        topical = [w for w in content if w not in asks]  # "why not?": no topic of its own
        if match.outcome is Outcome.CONFIDENT and topical and not self._chat(match) and not held:
            return match  # it names a topic of its own: a newly named topic always wins
        joined = self.matcher.lexical_match(f"{entry.title}: {text}")
        if joined.outcome is not Outcome.CONFIDENT and (not topical or pointed):
            # "where can that lead later on?": pointing back, it is worth the classifier's read
            joined = self.matcher.match(f"{entry.title}: {text}")
        near = {entry.id, *entry.related}  # "it" is the credential: not another one's fees
        strays = held and self.kb.intents[joined.intent or ""].answer not in near
        if joined.outcome is Outcome.CONFIDENT and not self._chat(joined) and not strays:
            return replace(match, outcome=joined.outcome, ranked=joined.ranked)
        intent = self.answering.get(entry.id)
        asking = "?" in text or said[0] in self.kb.splits.question_words
        if intent is None or not asking or (topical and not held) or self._chat(match):
            return match
        # a question about the topic in play that nothing else reads ("until when?" after the
        # outlook, "what does it cost?" after a credential): that topic's answer, which says
        # what the documents give and what they don't (taken outright: no related topic's
        # detail wins over it)
        ranked = [(intent, 1.0), *(r for r in joined.ranked if r[0] != intent)]
        return replace(match, outcome=Outcome.CONFIDENT, ranked=ranked)

    def kept(self, context: Context, text: str, match: Match) -> tuple[Entry, Detail] | None:
        """The level in play when a message pointing back at it is read as its topic ("how many
        years is that?" after the ladder's senior tier): that tier again, not the whole ladder."""
        entry = self.kb.entries.get(context.topic or "")
        kind = self.kb.threads.detail_kinds.get(context.topic or "")
        if entry is None or kind is None or context.entities.get(kind) != context.detail:
            return None
        said = utils.default_process(text).split()
        if match.intent != self.answering.get(entry.id) or not any(
            p in said for p in self.kb.threads.pointers
        ):
            return None
        return next(((entry, d) for d in entry.details if d.id == context.detail), None)

    def _in_play(self, context: Context) -> bool:
        """Whether the topic is an entity in play (a credential, a degree) or its detail is one
        (a level of the ladder): what "it" or "that" points at."""
        kind = self.kb.threads.detail_kinds.get(context.topic or "")
        in_play = context.entities.values()
        return context.topic in in_play or (kind is not None and context.detail in in_play)

    def split(self, text: str) -> list[str]:
        """The questions a message holds, in order (one part when it holds one): parts end at
        "?", ";", " + " or " & ", and at a joiner ("and", "also") before a question word."""
        parts = [p for p in re.split(r"(?<=\?)\s+|;\s*|\s[+&]\s", text) if p.strip()]
        words = self.kb.splits
        if words.joiners and words.question_words:
            joiner = "|".join(map(re.escape, words.joiners))
            asks = "|".join(map(re.escape, words.question_words))
            pattern = re.compile(rf",?\s+(?:{joiner})\s+(?=(?:{asks})\b)", re.IGNORECASE)
            parts = [q for p in parts for q in pattern.split(p)]
        if len(parts) == 1 and len(text.split()) <= SHORT_PAIR:  # "pay and outlook?"
            joiner = "|".join(map(re.escape, words.joiners))
            parts = re.split(rf"\s+(?:{joiner})\s+", text, maxsplit=1, flags=re.IGNORECASE)
        return [p.strip() for p in parts if self._content(p)]

    def questions(self, text: str) -> list[str]:
        """The questions of a message that tells a story and asks two things ("I'm a nurse. Do
        I need a master's, and how long would it take?"): its parts split at sentence ends too,
        without the statements; [] unless two of them ask."""
        words = self.kb.splits
        if not words.question_words:
            return []
        asks = "|".join(map(re.escape, words.question_words))
        sentence = re.compile(rf"(?<=[.!])\s+(?=(?:{asks})\b)", re.IGNORECASE)
        parts = self.split(text)
        sentences = [q.strip() for p in parts for q in sentence.split(p) if self._content(q)]
        asking = [p for p in sentences if self._asks(p)]
        return asking if len(sentences) > len(parts) and len(asking) >= 2 else []

    def _asks(self, part: str) -> bool:
        """Whether a part of a message asks something (a "?", or a question word first)."""
        words = self.kb.splits
        leads = set(words.joiners)
        said = [w for w in utils.default_process(part).split() if w not in leads]
        return "?" in part or (bool(said) and said[0] in words.question_words)

    def named(self, text: str) -> list[Entry]:
        """The entries a message names outright ("CHFP", "CMPE"), in the order it names them."""
        found: list[Entry] = []
        for word in utils.default_process(text).split():
            entry = self.kb.entries.get(self.kb.named.get(word, ""))
            if entry is not None and entry not in found:
                found.append(entry)
        return found

    def strays(self, context: Context, text: str, match: Match) -> bool:
        """Whether a short message names something outside the field and is answered only by
        the words it shares with the thread ("same for plumbers?", "seafood spots in rhode
        island?"): context fills gaps, it never carries another field in."""
        entry = self.kb.entries.get(context.topic or "")
        content = self._content(text)
        if entry is None or not content or len(content) > FOLLOW_UP_WORDS:
            return False
        fillers = self.kb.threads.fillers  # "sounds stressful, is it?"
        foreign = any(_foreign(w, self.matcher) for w in content if w not in fillers)
        if not foreign and not self._declined(match):
            return False
        near = {entry.id, *entry.related}
        details = {
            n
            for e in near
            if e in self.kb.entries
            for d in self.kb.entries[e].details
            for n in d.names
        }
        return match.intent in near or bool(details & set(content))

    def _content(self, text: str) -> list[str]:
        return self.matcher.content_words(self.matcher.normalize(text))

    def _outside(self, content: list[str]) -> bool:
        """A word from outside the field: unknown, or another occupation ("plumbers")."""
        fillers = self.kb.threads.fillers  # "sounds stressful, is it?"
        return any(
            (w not in self.matcher.vocabulary and w not in fillers)
            or w in self.matcher.occupations
            for w in content
        )

    def _declined(self, match: Match) -> bool:
        """Whether the classifier is sure a message turned away as off-topic is outside the
        field ("good schools in sacramento for my kids?"): the context must not carry it in,
        however many of its words the thread shares (or the spelling corrector makes it share).
        """
        return match.outcome is Outcome.OFF_TOPIC and match.outside >= SURELY_OUTSIDE

    def _chat(self, match: Match) -> bool:
        """Whether a match is to one of the bot's own replies (small talk: "who are you?")."""
        intent = self.kb.intents.get(match.intent or "")
        return intent is not None and intent.response is not None


def _foreign(word: str, matcher: Matcher) -> bool:
    """A word that names something outside the field: another occupation, or an unknown word
    that reads as a word (texting shorthand such as "shld" or "tho" does not)."""
    if word in matcher.occupations:
        return True
    unknown = word not in matcher.vocabulary and word.isalpha()
    return unknown and len(word) >= 4 and any(v in word for v in "aeiouy")


def _same_stem(word: str, other: str) -> bool:
    """Whether two words share a stem of five letters, or are equal ("fellowship", "fellow")."""
    return word == other or (len(other) >= 5 and word[:5] == other[:5])

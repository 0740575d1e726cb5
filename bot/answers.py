"""Typed questions: the matcher's verdict turned into an answer, a follow-up or a redirect.

The one place the engine consults the matcher about a question. A short follow-up leans on the
previous topic ("and in delaware?" after a salary answer); an unsure "FACHE vs CMM" that names
two topics gets both answers; what is not understood is stored for curators.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from string import Template

from bot.buttons import Cancel, Resume
from bot.conversation import Context, Threads
from bot.knowledge import Knowledge
from bot.replies import Button, Turn
from bot.schema import Detail, Entry, FollowUp
from bot.store import Store, User
from bot.texts import Texts, topic_button
from bot.understanding import Match, Matcher, Outcome, asked_detail, names_a_detail

FOLLOW_UP_WORDS = 6  # a message this short may lean on the previous topic
SURE_OF_NEW_TOPIC = 0.75  # a match this strong wins over a detail of the previous topic
MAX_SUGGESTIONS = 3
MAX_COMPARED = 3  # entries a comparison answers side by side


class Answers:
    """Answers typed questions from the knowledge, keeping the user's topic in context."""

    def __init__(
        self,
        kb: Knowledge,
        matcher: Matcher,
        texts: Texts,
        store: Store,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Answer from ``kb`` as ``matcher`` understands; unanswered questions go to ``store``."""
        self.kb = kb
        self.matcher = matcher
        self.texts = texts
        self.store = store
        self.clock = clock
        self.threads = Threads(kb, matcher)

    def entry(self, user: User, entry: Entry, detail: Detail | None = None) -> Turn:
        """An entry's answer (it becomes the user's topic)."""
        self._remember(user, entry, detail)
        return Turn([self.texts.entry(entry, detail)], entry.id, 1.0, True)

    def more(self, user: User, entry: Entry) -> Turn:
        """An entry's longer answer (it becomes the user's topic)."""
        self._remember(user, entry)
        return Turn([self.texts.more(entry)], entry.id, 1.0, True)

    def _remember(self, user: User, entry: Entry, detail: Detail | None = None) -> None:
        now = self.clock()
        context = Context.of(user, now)
        context.answered(entry, detail, self.kb.threads)
        context.store(user, now)

    def picture(self, chart_id: str) -> Turn | None:
        """A chart alone ("Show as picture"); None for a chart that does not exist."""
        reply = self.texts.picture(chart_id)
        return Turn([reply], chart_id, 1.0, True) if reply else None

    def question(self, user: User, text: str, redirect: bool = True) -> Turn | None:
        """Answer ``text`` as a question; None, with ``redirect`` false, when there is no answer
        (a bad answer to a dialog's step: the dialog re-asks instead of a redirect).

        A message naming two credentials gets both; one holding two questions gets two answers,
        the second read with the first's topic in context (a third part gets a "one at a time"
        note); otherwise it is one question.
        """
        named = self.threads.named(text)
        if len(named) >= 2:
            return self._each(user, named[:MAX_COMPARED], text)
        parts = self.threads.split(text)
        if len(parts) > 1 and (both := self._parts(user, parts)):
            return both
        asked = self.threads.questions(text)  # a story, then two questions
        whole_sure = asked and self.matcher.match(text).outcome is Outcome.CONFIDENT
        if asked and not whole_sure and (both := self._parts(user, asked)):
            return both  # understood as one question, the whole message wins
        return self._one(user, text, redirect)

    def _each(self, user: User, named: list[Entry], text: str) -> Turn:
        """Each entry a message names, with the detail it asks for ("CNHA and CALA issuers?")."""
        asked = Match(Outcome.CONFIDENT, words=self.matcher.normalize(text))
        replies = [
            reply
            for entry in named
            for reply in self.entry(user, entry, asked_detail(entry, asked)).replies
        ]
        self._remember(user, named[0], asked_detail(named[0], asked))
        return Turn(replies, named[0].id, 1.0, True)

    def _parts(self, user: User, parts: list[str]) -> Turn | None:
        """Two questions' answers, or None unless both parts are understood (and differ)."""
        first = self._one(user, parts[0], redirect=False)
        if first is None or not first.matched:
            return None
        second = self._one(user, parts[1], redirect=False)
        if second is not None and second.matched and _texts(first) == _texts(second):
            return first  # the same question twice (two details of one topic are two answers)
        if second is None or not second.matched:
            return None  # the other part is no question of this field: read the whole message
        replies = first.replies + second.replies
        if len(parts) > 2:
            replies.append(self.texts.response("one_at_a_time"))
        return Turn(replies, first.intent, min(first.score, second.score), True)

    def _one(self, user: User, text: str, redirect: bool = True) -> Turn | None:
        """One question, read with the conversation's context."""
        now = self.clock()
        context = Context.of(user, now)
        context.turns += 1
        context.entities.update(self.threads.entities(text))
        context.store(user, now)
        if routed := self.threads.routed(context, text):
            return self._routed(user, *routed)
        if swapped := self.threads.swapped(context, text):
            return self.entry(user, *swapped)
        if picked := self.threads.picked(context, text):
            return self.entry(user, picked)
        match = self.threads.match(context, text, self.matcher.match(text))
        if self.threads.strays(context, text, match):
            match = Match(Outcome.OFF_TOPIC, match.ranked, match.words)
            return self._not_understood(user, text, match) if redirect else None
        followup = self._follow_up(user, match, self.threads.leans(context, text))
        followup = followup or self.threads.kept(context, text, match)
        if followup:
            entry, detail = followup
            return self._scored(self.entry(user, entry, detail), match)
        if match.outcome is Outcome.CONFIDENT:
            return self._answer_intent(user, match)
        if compared := self._comparison(match):
            replies = [r for entry in compared for r in self.entry(user, entry).replies]
            return Turn(replies, compared[0].id, match.score, True)
        if not redirect:
            return None
        return self._not_understood(user, text, match)

    def resume_offer(self, turn: Turn, dialog_title: str) -> Turn:
        """Add "resume the dialog?" to a turn that answered a question typed mid-dialog."""
        resume = self.texts.response("resume", dialog=dialog_title)
        resume.buttons = [Button("Resume", Resume().pack()), Button("Cancel", Cancel().pack())]
        turn.replies.append(resume)
        return turn

    def _routed(self, user: User, follow_up: FollowUp, state: str) -> Turn:
        """A state named alone after a topic with a follow-up for states."""
        entry = self.kb.entries[follow_up.answer]
        asked = Match(Outcome.CONFIDENT, words=self.matcher.normalize(state))
        turn = self.entry(user, entry, asked_detail(entry, asked))
        if follow_up.note:
            note = Template(follow_up.note).safe_substitute(state=state.title())
            turn.replies[0].text = f"{note}\n\n{turn.replies[0].text}"
        return turn

    @staticmethod
    def _scored(turn: Turn, match: Match) -> Turn:
        turn.score = match.score
        return turn

    def _follow_up(
        self, user: User, match: Match, leans: bool = False
    ) -> tuple[Entry, Detail] | None:
        """A detail the message asks for: of the matched entry, or of the previous topic (which
        wins over a sure new topic when the message ``leans`` on it: "renewal?" after FACHE,
        "and executive?" after the career ladder is its executive tier)."""
        if leans and match.outcome is not Outcome.MEDICAL:
            for topic in self._context_entries(user)[:1]:
                if detail := asked_detail(topic, match):
                    return topic, detail
        if match.outcome is Outcome.CONFIDENT and match.intent:
            intent = self.kb.intents[match.intent]
            entry = self.kb.entries.get(intent.answer or "")
            if entry:
                detail = asked_detail(entry, match)
                if detail or names_a_detail(entry, match):
                    return (entry, detail) if detail else None
                if entry.id in Context.of(user, self.clock()).entities.values():
                    return None  # the credential in play, whole: not a related one's detail
                if (match.score >= SURE_OF_NEW_TOPIC and not leans) or not any(
                    names_a_detail(e, match) for e in self._context_entries(user)
                ):
                    return None
        if len(match.words) > FOLLOW_UP_WORDS or match.outcome is Outcome.MEDICAL:
            return None
        for entry in self._context_entries(user):
            detail = asked_detail(entry, match)
            if detail:
                return entry, detail
        return None

    def _comparison(self, match: Match) -> list[Entry]:
        """The entries an unsure "FACHE vs CMM" question names: each topic word picks the
        best-ranked intent that uses it; two or more picked entries are compared."""
        words = set(match.words)
        if match.outcome is not Outcome.UNSURE or not words & set(self.kb.lexicon.compare):
            return []
        named: list[Entry] = []
        for word in words & self.matcher.field:
            for intent_id, _ in match.ranked:
                if word in self.matcher.pooled[intent_id]:
                    entry = self.kb.entries.get(self.kb.intents[intent_id].answer or "")
                    if entry and entry not in named:
                        named.append(entry)
                    break
        order = {intent_id: n for n, (intent_id, _) in enumerate(match.ranked)}
        named.sort(key=lambda e: order.get(e.id, len(order)))
        return named[:3] if len(named) >= 2 else []

    def _context_entries(self, user: User) -> list[Entry]:
        found = self.kb.entries.get(Context.of(user, self.clock()).topic or "")
        if found is None:
            return []
        return [found, *(self.kb.entries[r] for r in found.related if r in self.kb.entries)]

    def _answer_intent(self, user: User, match: Match) -> Turn:
        intent = self.kb.intents[match.intent or ""]
        if intent.response:
            return Turn([self.texts.response(intent.response)], intent.id, match.score, True)
        turn = self.entry(user, self.kb.entries[intent.answer or ""])
        turn.intent = intent.id
        return self._scored(turn, match)

    def _not_understood(self, user: User, text: str, match: Match) -> Turn:
        if match.outcome is Outcome.EMPTY:
            return Turn([self.texts.response("empty")], score=match.score)
        if match.outcome is Outcome.MEDICAL:
            return Turn([self.texts.response("medical")], score=match.score)
        self.store.curation.record_unanswered(user.id, text, match.outcome.value)
        if match.outcome is Outcome.UNSURE:
            buttons = self._suggestions(match)
            if buttons:
                reply = self.texts.response("unsure")
                reply.buttons = buttons
                suggestions = [b.label for b in buttons]
                return Turn([reply], match.intent, match.score, False, suggestions)
        return Turn([self.texts.response("off_topic")], match.intent, match.score)

    def _suggestions(self, match: Match) -> list[Button]:
        buttons: list[Button] = []
        for intent_id, _ in match.ranked:
            entry = self.kb.entries.get(self.kb.intents[intent_id].answer or "")
            if entry:
                buttons.append(topic_button(entry))
            if len(buttons) == MAX_SUGGESTIONS:
                break
        return buttons


def _texts(turn: Turn) -> list[str]:
    """What a turn says, to tell two answers from one said twice."""
    return [r.plain() for r in turn.replies]

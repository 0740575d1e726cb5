"""Typed questions: the matcher's verdict turned into an answer, a follow-up or a redirect.

The one place the engine consults the matcher about a question. A short follow-up leans on the
previous topic ("and in delaware?" after a salary answer); an unsure "FACHE vs CMM" that names
two topics gets both answers; what is not understood is stored for curators.
"""

from __future__ import annotations

from bot.buttons import Cancel, Resume
from bot.knowledge import Knowledge
from bot.replies import Button, Turn, short
from bot.schema import Detail, Entry
from bot.store import Store, User
from bot.texts import Texts, topic
from bot.understanding import Match, Matcher, Outcome, asked_detail, names_a_detail

FOLLOW_UP_WORDS = 6  # a message this short may lean on the previous topic
SURE_OF_NEW_TOPIC = 0.75  # a match this strong wins over a detail of the previous topic
MAX_SUGGESTIONS = 3


class Answers:
    """Answers typed questions from the knowledge, keeping the user's topic in context."""

    def __init__(self, kb: Knowledge, matcher: Matcher, texts: Texts, store: Store) -> None:
        """Answer from ``kb`` as ``matcher`` understands; unanswered questions go to ``store``."""
        self.kb = kb
        self.matcher = matcher
        self.texts = texts
        self.store = store

    def entry(self, user: User, entry: Entry, detail: Detail | None = None) -> Turn:
        """An entry's answer (it becomes the user's topic)."""
        user.context = {"topic": entry.id}
        return Turn([self.texts.entry(entry, detail)], entry.id, 1.0, True)

    def more(self, user: User, entry: Entry) -> Turn:
        """An entry's longer answer (it becomes the user's topic)."""
        user.context = {"topic": entry.id}
        return Turn([self.texts.more(entry)], entry.id, 1.0, True)

    def picture(self, chart_id: str) -> Turn | None:
        """A chart alone ("Show as picture"); None for a chart that does not exist."""
        reply = self.texts.picture(chart_id)
        return Turn([reply], chart_id, 1.0, True) if reply else None

    def question(self, user: User, text: str, redirect: bool = True) -> Turn | None:
        """Answer ``text`` as a question; None, with ``redirect`` false, when there is no answer
        (a bad answer to a dialog's step: the dialog re-asks instead of a redirect)."""
        match = self.matcher.match(text)
        followup = self._follow_up(user, match)
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

    @staticmethod
    def _scored(turn: Turn, match: Match) -> Turn:
        turn.score = match.score
        return turn

    def _follow_up(self, user: User, match: Match) -> tuple[Entry, Detail] | None:
        """A detail the message asks for: of the matched entry, or of the previous topic."""
        if match.outcome is Outcome.CONFIDENT and match.intent:
            intent = self.kb.intents[match.intent]
            entry = self.kb.entries.get(intent.answer or "")
            if entry:
                detail = asked_detail(entry, match)
                if detail or names_a_detail(entry, match):
                    return (entry, detail) if detail else None
                if match.score >= SURE_OF_NEW_TOPIC or not any(
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
        found = self.kb.entries.get(user.context.get("topic", ""))
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
        self.store.record_unanswered(user.id, text, match.outcome.value)
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
                buttons.append(Button(short(entry.title), topic(entry.id)))
            if len(buttons) == MAX_SUGGESTIONS:
                break
        return buttons

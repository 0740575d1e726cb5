"""The transport-free brain: ``Engine.handle(user, text)`` and ``Engine.press(user, data)``.

Channels (Telegram, the terminal, ``ask``) pass in what the user sent and render the returned
:class:`~bot.replies.Turn`. The engine matches intents, runs dialogs, keeps context, and writes the
user's state to the store before returning, so whatever a reply promises is already saved.
"""

from __future__ import annotations

import json
import logging
from string import Template

from bot import dialogs
from bot.knowledge import Knowledge
from bot.matcher import Match, Matcher, Outcome
from bot.replies import Button, Reply, Turn, short
from bot.schema import Detail, Entry
from bot.store import Store, User

log = logging.getLogger(__name__)

FOLLOW_UP_WORDS = 6  # a message this short may lean on the previous topic
MAX_RELATED = 4
MAX_SUGGESTIONS = 3


def build_matcher(kb: Knowledge) -> Matcher:
    """A matcher over the knowledge's intents, knowing every detail name."""
    names = {n for e in kb.entries.values() for d in e.details for n in d.names}
    return Matcher(list(kb.intents.values()), kb.lexicon, names)


class Engine:
    """Answers messages and button presses for any channel."""

    def __init__(self, kb: Knowledge, store: Store, matcher: Matcher | None = None) -> None:
        """Serve ``kb`` with state in ``store``."""
        self.kb = kb
        self.store = store
        self.matcher = matcher or build_matcher(kb)
        self.commands = {d.command: d.id for d in kb.dialogs.values() if d.command}

    def swap(self, kb: Knowledge) -> None:
        """Serve new knowledge from now on (``/reload``)."""
        self.__init__(kb, self.store)  # type: ignore[misc]

    # --- entry points -------------------------------------------------------------------------

    def handle(self, user_id: str, text: str) -> Turn:
        """Answer a typed message (a question, a dialog answer or a /command)."""
        user = self.store.user(user_id)
        text = text.strip()
        turn = self._command(user, text) if text.startswith("/") else self._text(user, text)
        self.store.save(user)
        return turn

    def press(self, user_id: str, data: str) -> Turn:
        """Answer a button press carrying ``data``."""
        user = self.store.user(user_id)
        turn = self._press(user, data)
        if data != "forget:yes":
            self.store.save(user)
        return turn

    # --- typed text ---------------------------------------------------------------------------

    def _text(self, user: User, text: str) -> Turn:
        running = dialogs.active(self.kb, user)
        if running:
            answered = dialogs.type_answer(self.kb, user, text)
            if answered is not None:
                return Turn(answered, matched=True)
        match = self.matcher.match(text)
        followup = self._follow_up(user, match)
        if followup:
            entry, detail = followup
            turn = Turn([self._entry_reply(user, entry, detail)], entry.id, match.score, True)
        elif match.outcome is Outcome.CONFIDENT:
            turn = self._answer_intent(user, match)
        elif running and running[1].input is not None:
            return Turn(dialogs.invalid_number(self.kb, user))
        else:
            turn = self._not_understood(user, text, match)
        if running and user.dialog:
            dialog = running[0]
            resume = self.response("resume", dialog=dialog.title)
            resume.buttons = [Button("Resume", "r"), Button("Cancel", "x")]
            turn.replies.append(resume)
        return turn

    def _follow_up(self, user: User, match: Match) -> tuple[Entry, Detail] | None:
        """A detail the message asks for: of the matched entry, or of the previous topic."""
        words = set(match.words)
        if match.outcome is Outcome.CONFIDENT and match.intent:
            intent = self.kb.intents[match.intent]
            entry = self.kb.entries.get(intent.answer or "")
            if entry:
                detail = _detail_named(entry, words)
                if detail:
                    return entry, detail
                if match.score >= 0.75 or not _detail_named_any(
                    self._context_entries(user), words
                ):
                    return None
        if len(match.words) > FOLLOW_UP_WORDS or match.outcome is Outcome.MEDICAL:
            return None
        for entry in self._context_entries(user):
            detail = _detail_named(entry, words)
            if detail:
                return entry, detail
        return None

    def _context_entries(self, user: User) -> list[Entry]:
        topic = self.kb.entries.get(user.context.get("topic", ""))
        if topic is None:
            return []
        return [topic, *(self.kb.entries[r] for r in topic.related if r in self.kb.entries)]

    def _answer_intent(self, user: User, match: Match) -> Turn:
        intent = self.kb.intents[match.intent or ""]
        if intent.response:
            reply = self.response(intent.response)
        else:
            reply = self._entry_reply(user, self.kb.entries[intent.answer or ""])
        return Turn([reply], intent.id, match.score, True)

    def _not_understood(self, user: User, text: str, match: Match) -> Turn:
        if match.outcome is Outcome.EMPTY:
            return Turn([self.response("empty")], score=match.score)
        if match.outcome is Outcome.MEDICAL:
            return Turn([self.response("medical")], score=match.score)
        self.store.record_unanswered(user.id, text, match.outcome.value)
        if match.outcome is Outcome.UNSURE:
            buttons = self._suggestions(match)
            if buttons:
                reply = self.response("unsure")
                reply.buttons = buttons
                suggestions = [b.label for b in buttons]
                return Turn([reply], match.intent, match.score, False, suggestions)
        return Turn([self.response("off_topic")], match.intent, match.score)

    def _suggestions(self, match: Match) -> list[Button]:
        buttons: list[Button] = []
        for intent_id, _ in match.ranked:
            entry = self.kb.entries.get(self.kb.intents[intent_id].answer or "")
            if entry:
                buttons.append(Button(short(entry.title), f"t:{entry.id}"))
            if len(buttons) == MAX_SUGGESTIONS:
                break
        return buttons

    # --- commands -----------------------------------------------------------------------------

    def _command(self, user: User, text: str) -> Turn:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        arg = arg.strip()
        if name in ("start", "menu"):
            entry = self.kb.entries.get(arg)
            if entry:
                return Turn([self._entry_reply(user, entry)], entry.id, 1.0, True)
            return Turn([self.response(name if name == "start" else "menu")], matched=True)
        if name == "help":
            return Turn([self.response("help")], matched=True)
        if name in self.commands:
            dialog = self.kb.dialogs[self.commands[name]]
            return Turn(dialogs.start(self.kb, user, dialog), matched=True)
        if name == "cancel":
            if user.dialog:
                title = (
                    self.kb.dialogs[user.dialog["id"]].title
                    if user.dialog["id"] in self.kb.dialogs
                    else "it"
                )
                user.dialog = None
                return Turn([self.response("cancelled", dialog=title)], matched=True)
            return Turn([self.response("nothing_to_cancel")], matched=True)
        if name == "export":
            return Turn([self.export(user.id)], matched=True)
        if name == "forget":
            confirm = self.response("forget_confirm")
            confirm.buttons = [
                Button("Yes, delete", "forget:yes"),
                Button("No, keep", "forget:no"),
            ]
            return Turn([confirm], matched=True)
        return Turn([self.response("unknown_command", command=short("/" + name, 30))])

    def export(self, user_id: str) -> Reply:
        """Everything stored about the user, as a reply whose text is the JSON."""
        data = self.store.export(user_id)
        intro = self.response("export")
        return Reply(intro.text + "\n\n" + json.dumps(data, indent=2, ensure_ascii=False))

    # --- buttons ------------------------------------------------------------------------------

    def _press(self, user: User, data: str) -> Turn:
        kind, _, rest = data.partition(":")
        args = rest.split(":") if rest else []
        if kind == "t" and rest in self.kb.entries:
            return Turn([self._entry_reply(user, self.kb.entries[rest])], rest, 1.0, True)
        if kind == "m" and rest in self.kb.entries:
            return Turn([self._more_reply(user, self.kb.entries[rest])], rest, 1.0, True)
        if kind in ("d", "n") and rest in self.kb.dialogs:
            started = dialogs.start(self.kb, user, self.kb.dialogs[rest], fresh=kind == "n")
            return Turn(started, matched=True)
        pressed: list[Reply] | None = None
        if kind == "a" and len(args) == 3:
            pressed = dialogs.choose(self.kb, user, *args)
        elif kind == "c" and len(args) == 2:
            pressed = dialogs.change(self.kb, user, *args)
        if pressed is not None:
            return Turn(pressed, matched=True)
        if kind == "r":
            running = dialogs.active(self.kb, user)
            if running:
                return Turn([dialogs.question(user, *running)], matched=True)
        if kind == "x":
            return self._command(user, "/cancel")
        if kind == "menu":
            return Turn([self.response("menu")], matched=True)
        if kind == "f" and len(args) == 2 and args[0] in self.kb.entries and args[1] in "01":
            self.store.record_feedback(user.id, args[0], args[1] == "1")
            return Turn([self.response("feedback_thanks")], matched=True)
        if data == "forget:yes":
            self.store.forget(user.id)
            return Turn([self.response("forgotten")], matched=True)
        if data == "forget:no":
            return Turn([self.response("forget_kept")], matched=True)
        return Turn([self.response("stale_button")])

    # --- reply builders -----------------------------------------------------------------------

    def response(self, response_id: str, **values: str) -> Reply:
        """One of the bot's own replies, with ``$name`` placeholders filled in."""
        response = self.kb.responses[response_id]
        buttons = [
            Button(b.label, f"t:{b.topic}" if b.topic else f"d:{b.dialog}")
            for b in response.buttons
        ]
        return Reply(Template(response.text).safe_substitute(values), buttons=buttons)

    def _entry_reply(self, user: User, entry: Entry, detail: Detail | None = None) -> Reply:
        user.context = {"topic": entry.id}
        buttons: list[Button] = []
        if detail:
            text, sources = detail.answer, detail.sources or entry.sources
            buttons.append(Button(short(f"More on {entry.title}"), f"t:{entry.id}"))
        else:
            text, sources = entry.answer, entry.sources
            if entry.more:
                buttons.append(Button("Tell me more", f"m:{entry.id}"))
        return Reply(
            text,
            title=entry.title,
            sources=self.kb.cite(sources),
            buttons=buttons + self._related(entry) + _feedback(entry),
        )

    def _more_reply(self, user: User, entry: Entry) -> Reply:
        user.context = {"topic": entry.id}
        return Reply(
            entry.more or entry.answer,
            title=entry.title,
            sources=self.kb.cite(entry.sources),
            buttons=self._related(entry) + _feedback(entry),
        )

    def _related(self, entry: Entry) -> list[Button]:
        related = [self.kb.entries[r] for r in entry.related[:MAX_RELATED] if r in self.kb.entries]
        return [Button(short(e.title), f"t:{e.id}") for e in related]


def _feedback(entry: Entry) -> list[Button]:
    return [Button("👍 Helpful", f"f:{entry.id}:1"), Button("👎 Not helpful", f"f:{entry.id}:0")]


def _detail_named(entry: Entry, words: set[str]) -> Detail | None:
    return next((d for d in entry.details if words.intersection(d.names)), None)


def _detail_named_any(entries: list[Entry], words: set[str]) -> bool:
    return any(_detail_named(e, words) for e in entries)

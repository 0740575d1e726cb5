"""The transport-free brain: ``Engine.handle(user, text)`` and ``Engine.press(user, data)``.

Channels (Telegram, the terminal, ``ask``) pass in what the user sent and render the returned
:class:`~bot.replies.Turn`. The engine matches intents, runs dialogs, keeps context, and writes the
user's state to the store before returning, so whatever a reply promises is already saved.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from string import Template
from zoneinfo import ZoneInfo

from bot import dates
from bot.dialogs import DialogRunner, InvalidAnswer
from bot.knowledge import Knowledge
from bot.matcher import Match, Matcher, Outcome
from bot.reminders import KINDS, AlreadyDone, ReminderError, Reminders
from bot.replies import Button, Reply, Turn, dump_replies, short, valid_text
from bot.schema import Detail, Entry, Step
from bot.store import Store, User

log = logging.getLogger(__name__)

FOLLOW_UP_WORDS = 6  # a message this short may lean on the previous topic
SURE_OF_NEW_TOPIC = 0.75  # a match this strong wins over a detail of the previous topic
PRIVATE_ONLY = {"remind", "reminders", "timezone", "export", "forget"}
PERSONAL_PRESSES = {"rl", "rd", "rz", "rn", "tz", "forget"}  # buttons on a user's own data
DEFAULT_TIME = dt.time(9, 0)
ONE_LINER_LEADS = [7 * 1440, 1440, 0]  # /remind in one line: a week before, a day before, on time
LEAD_UNITS = {"w": 7 * 1440, "d": 1440, "h": 60, "m": 1}
MAX_RELATED = 4
MAX_SUGGESTIONS = 3
ROW_ID = re.compile(r"[0-9]{1,12}")  # ids in button data: ASCII digits that fit SQLite


def build_matcher(kb: Knowledge) -> Matcher:
    """A matcher over the knowledge's intents, knowing every detail name."""
    names = {n for e in kb.entries.values() for d in e.details for n in d.names}
    # the semantic stage (bot/semantic.py): the one hook into the engine
    from bot.semantic import load_semantic

    return Matcher(list(kb.intents.values()), kb.lexicon, names, load_semantic(kb))


class Engine:
    """Answers messages and button presses for any channel."""

    def __init__(
        self,
        kb: Knowledge,
        store: Store,
        matcher: Matcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Serve ``kb`` with state in ``store``; ``clock`` gives the UTC epoch (tests set it)."""
        self.store = store
        self.clock = clock
        self._serve(kb, matcher)

    def _serve(self, kb: Knowledge, matcher: Matcher | None = None) -> None:
        self.kb = kb
        self.matcher = matcher or build_matcher(kb)
        self.commands = {d.command: d.id for d in kb.dialogs.values() if d.command}
        self.reminders = Reminders(self.store, kb, self.clock)
        self.dialogs = DialogRunner(
            kb,
            validators={"date": self._valid_date, "time": self._valid_time, "text": _valid_title},
            actions={"reminder": self._reminder_from_dialog},
        )

    def swap(self, kb: Knowledge) -> None:
        """Serve new knowledge from now on (``/reload``)."""
        self._serve(kb)

    # --- entry points -------------------------------------------------------------------------

    def handle(
        self,
        user_id: str,
        text: str,
        private: bool = True,
        update_id: int | None = None,
        chat: str | None = None,
    ) -> Turn:
        """Answer a typed message (a question, a dialog answer or a /command).

        ``private`` is false in group chats, where personal commands are refused. Everything the
        message changes is committed in one transaction before this returns; a Telegram
        ``update_id`` seen before (resent after a crash) changes nothing and gets no reply.
        With ``chat``, the replies are also stored in that transaction as owed to that chat
        (``Turn.owed``), for a channel that settles them once delivered (the outbox).
        """
        text = valid_text(text).strip()  # odd bytes get the reply any odd text gets
        if text.startswith("/"):
            return self._once(
                user_id, update_id, lambda user: self._command(user, text, private), chat
            )
        return self._once(user_id, update_id, lambda user: self._text(user, text), chat)

    def press(
        self,
        user_id: str,
        data: str,
        private: bool = True,
        update_id: int | None = None,
        chat: str | None = None,
    ) -> Turn:
        """Answer a button press carrying ``data`` (one transaction, as :meth:`handle`).

        The data is untrusted (any client can send any string): it only ever acts on the
        presser's own rows, and buttons on personal data work only in the private chat.
        """
        data = valid_text(data)
        return self._once(user_id, update_id, lambda user: self._press(user, data, private), chat)

    def _personal(self, user: User, data: str) -> bool:
        """Whether a press reads or changes the user's own data (reminders, time zone, ...)."""
        kind, _, rest = data.partition(":")
        if kind in PERSONAL_PRESSES:
            return True
        if kind in ("d", "n"):
            dialog = self.kb.dialogs.get(rest)
        elif kind in ("a", "c", "r") and user.dialog:  # a step of the dialog the user is in
            dialog = self.kb.dialogs.get(user.dialog.get("id", ""))
        else:
            return False
        return dialog is not None and (dialog.command in PRIVATE_ONLY or dialog.action is not None)

    def _once(
        self,
        user_id: str,
        update_id: int | None,
        respond: Callable[[User], Turn],
        chat: str | None = None,
    ) -> Turn:
        """Run ``respond`` for the user in one transaction, at most once per Telegram update,
        with the replies owed to ``chat`` (if given) in the same commit."""
        with self.store.transaction():
            if update_id is not None and not self.store.claim_update(update_id):
                return Turn([])
            user = self.store.user(user_id)
            self._welcome_back(user)
            turn = respond(user)
            if not turn.forgotten:
                self.store.save(user)
            if chat is not None and turn.replies:
                turn.owed = self.store.owe(user_id, chat, dump_replies(turn.replies))
        return turn

    def _welcome_back(self, user: User) -> None:
        """A user who had blocked the bot writes again: release their held reminders."""
        if not user.active:
            user.active = True
            self.reminders.resume_user(user.id)

    # --- typed text ---------------------------------------------------------------------------

    def _text(self, user: User, text: str) -> Turn:
        running = self.dialogs.active(user)
        invalid: InvalidAnswer | None = None
        if running:
            try:
                answered = self.dialogs.type_answer(user, text)
            except InvalidAnswer as exc:
                answered, invalid = None, exc
            if answered is not None:
                return Turn(answered, matched=True)
        match = self.matcher.match(text)
        followup = self._follow_up(user, match)
        if followup:
            entry, detail = followup
            turn = Turn([self._entry_reply(user, entry, detail)], entry.id, match.score, True)
        elif match.outcome is Outcome.CONFIDENT:
            turn = self._answer_intent(user, match)
        elif compared := self._comparison(match):
            replies = [self._entry_reply(user, entry) for entry in compared]
            turn = Turn(replies, compared[0].id, match.score, True)
        elif invalid is not None:
            return Turn(invalid.replies)
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
                if match.score >= SURE_OF_NEW_TOPIC or not _detail_named_any(
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

    def _command(self, user: User, text: str, private: bool = True) -> Turn:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        arg = arg.strip()
        if name in PRIVATE_ONLY and not private:
            return Turn([self.response("private_only")])
        if name == "remind" and arg:
            return self._remind_one_line(user, arg)
        if name == "reminders":
            return Turn([self.reminders.listing(user.id)], matched=True)
        if name == "timezone":
            return self._timezone(user, arg)
        if name in ("start", "menu"):
            entry = self.kb.entries.get(arg)
            if entry:
                return Turn([self._entry_reply(user, entry)], entry.id, 1.0, True)
            return Turn([self.response(name)], matched=True)
        if name == "help":
            return Turn([self.response("help")], matched=True)
        if name in self.commands:
            dialog = self.kb.dialogs[self.commands[name]]
            return Turn(self.dialogs.start(user, dialog), matched=True)
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

    def _press(self, user: User, data: str, private: bool = True) -> Turn:
        if not private and self._personal(user, data):
            return Turn([self.response("private_only")])
        kind, _, rest = data.partition(":")
        args = rest.split(":") if rest else []
        if kind == "t" and rest in self.kb.entries:
            return Turn([self._entry_reply(user, self.kb.entries[rest])], rest, 1.0, True)
        if kind == "m" and rest in self.kb.entries:
            return Turn([self._more_reply(user, self.kb.entries[rest])], rest, 1.0, True)
        if kind in ("d", "n") and rest in self.kb.dialogs:
            started = self.dialogs.start(user, self.kb.dialogs[rest], fresh=kind == "n")
            return Turn(started, matched=True)
        pressed: list[Reply] | None = None
        if kind == "a" and len(args) == 3:
            pressed = self.dialogs.choose(user, *args)
        elif kind == "c" and len(args) == 2:
            pressed = self.dialogs.change(user, *args)
        if pressed is not None:
            return Turn(pressed, matched=True)
        if kind == "r":
            running = self.dialogs.active(user)
            if running:
                return Turn([self.dialogs.question(user, *running)], matched=True)
        if kind in ("rl", "rd", "rz", "rn"):
            try:
                turn = self._reminder_button(user, kind, args)
            except AlreadyDone as exc:
                return Turn([self.response(f"already_{exc}")], matched=True)
            if turn is not None:
                return turn
        if kind == "tz" and rest in ("move", "keep") and user.tz:
            if rest == "keep":
                return Turn([self.response("timezone_kept", zone=user.tz)], matched=True)
            moved = self.reminders.move_zone(user.id, user.tz)
            if moved:
                reply = self.response("timezone_moved", count=str(moved), zone=user.tz)
                return Turn([reply], matched=True)
        if kind == "x":
            return self._command(user, "/cancel")
        if kind == "menu":
            return Turn([self.response("menu")], matched=True)
        if kind == "f" and len(args) == 2 and args[0] in self.kb.entries and args[1] in "01":
            self.store.record_feedback(user.id, args[0], args[1] == "1")
            return Turn([self.response("feedback_thanks")], matched=True)
        if data == "forget:yes":
            self.store.forget(user.id)
            return Turn([self.response("forgotten")], matched=True, forgotten=True)
        if data == "forget:no":
            return Turn([self.response("forget_kept")], matched=True)
        return Turn([self.response("stale_button")])

    # --- reminders ----------------------------------------------------------------------------

    def _zone(self, user: User) -> str:
        return user.tz or "UTC"

    def _today(self, user: User) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), ZoneInfo(self._zone(user))).date()

    def _remind_one_line(self, user: User, arg: str) -> Turn:
        """``/remind YYYY-MM-DD [HH:MM] what``: save at once, or say what is wrong."""
        words = arg.split()
        try:
            day = dates.parse_date(words[0], self._today(user)).date
            at = DEFAULT_TIME
            if len(words) > 1 and any(c.isdigit() for c in words[1]):
                at = dates.parse_time(words[1])
                words = words[1:]
            title = " ".join(words[1:])
            entry, kind = self._credential_of(title)
            reply = self.reminders.create(
                user.id,
                title,
                day,
                at,
                self._zone(user),
                kind=kind,
                entry=entry,
                leads=ONE_LINER_LEADS,
            )
        except (dates.DateError, ReminderError) as exc:
            usage = self.response("remind_usage")
            return Turn([Reply(f"{exc}\n\n{usage.text}")])
        return Turn([reply], matched=True)

    def _credential_of(self, title: str) -> tuple[str | None, str]:
        """The certification a reminder's title names (if any) and the kind of date it is."""
        words = set(self.matcher.normalize(title))
        kinds = self.kb.lexicon.reminder_kinds
        kind = next((k for k, named in kinds.items() if words & set(named)), "other")
        match = self.matcher.match(title) if title else None
        entry = None
        if match and match.intent and match.intent.startswith("cert_") and match.score >= 0.5:
            entry = self.kb.intents[match.intent].answer
        return entry, kind

    def _timezone(self, user: User, arg: str) -> Turn:
        if not arg:
            return Turn([self.response("timezone_help", zone=self._zone(user))], matched=True)
        try:
            zone = dates.parse_zone(arg)
        except dates.DateError as exc:
            return Turn([Reply(str(exc))])
        user.tz = zone.key
        now = dt.datetime.fromtimestamp(self.clock(), zone)
        replies = [self.response("timezone_set", zone=zone.key, now=f"{now:%H:%M}")]
        others = self.reminders.in_other_zones(user.id, zone.key)
        if others:
            count, zones = str(sum(others.values())), ", ".join(others)
            offer = self.response("timezone_move_offer", count=count, zones=zones, zone=zone.key)
            offer.buttons = [Button("Move them", "tz:move"), Button("Keep them", "tz:keep")]
            replies.append(offer)
        return Turn(replies, matched=True)

    def _valid_date(self, user: User, step: Step, text: str) -> tuple[str, str | None]:
        parsed = dates.parse_date(text, self._today(user))
        return parsed.date.isoformat(), parsed.note

    def _valid_time(self, user: User, step: Step, text: str) -> tuple[str, str | None]:
        return dates.parse_time(text).strftime("%H:%M"), None

    def _reminder_from_dialog(self, user: User, slots: dict[str, str]) -> list[Reply]:
        """The end of the reminder set-up dialog: save the reminder it describes."""
        credential = slots.get("credential", "")
        entry = self.kb.entries.get(credential)
        title = _short_name(entry.title) if entry else credential
        kind = slots.get("kind", "other")
        title = f"{title} {KINDS.get(kind, '')}".strip() if entry else title
        at = slots.get("time", "")
        leads = [_lead_minutes(v) for v in slots.get("leads", "d0").split(",") if v]
        try:
            reply = self.reminders.create(
                user.id,
                title,
                dt.date.fromisoformat(slots.get("date", "")),
                dt.time.fromisoformat(at) if ":" in at else DEFAULT_TIME,
                self._zone(user),
                kind=kind if kind in KINDS else "other",
                entry=entry.id if entry else None,
                leads=leads,
                repeat=slots.get("repeat", "none"),
            )
        except (ReminderError, ValueError) as exc:
            return [
                Reply(
                    f"I could not save that reminder: {exc}",
                    buttons=[Button("Try again", "d:remind_setup")],
                )
            ]
        return [reply]

    def _reminder_button(self, user: User, kind: str, args: list[str]) -> Turn | None:
        if kind == "rl":
            return Turn([self.reminders.listing(user.id)], matched=True)
        if not args or not all(ROW_ID.fullmatch(a) for a in args):
            return None  # forged or garbled: not one of our ids
        if kind == "rd" and self.reminders.delete(user.id, int(args[0])):
            return Turn(
                [self.response("reminder_deleted"), self.reminders.listing(user.id)], matched=True
            )
        if kind == "rn" and self.reminders.done(user.id, int(args[0])) is not None:
            return Turn([self.response("reminder_done")], matched=True)
        if kind == "rz" and len(args) == 2 and 0 < int(args[1]) <= 7 * 1440:
            snoozed = self.reminders.snooze(user.id, int(args[0]), int(args[1]))
            if snoozed is not None:
                zone = ZoneInfo(self._zone(user))
                moment = dt.datetime.fromtimestamp(snoozed.fire_at, zone)
                return Turn([self.response("snoozed", at=f"{moment:%d %b %H:%M}")], matched=True)
        return None

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


def _valid_title(user: User, step: Step, text: str) -> tuple[str, str | None]:
    title = " ".join(text.split())
    if not title:
        raise ValueError('Please type a short title, like "CMM exam".')
    if len(title) > 200:
        raise ValueError(f"That is {len(title)} characters; please keep it under 200.")
    return title, None


def _short_name(title: str) -> str:
    """ "CMM (Certified Medical Manager)" -> "CMM"; a title's name before any comma or bracket."""
    return title.split(",")[0].split("(")[0].split(":")[0].strip()


def _lead_minutes(value: str) -> int:
    """An option id like ``d30`` (30 days), ``w1``, ``h3`` or ``d0`` as minutes."""
    unit, digits = value[:1], value[1:]
    return LEAD_UNITS.get(unit, 0) * int(digits) if ROW_ID.fullmatch(digits) else 0


def _feedback(entry: Entry) -> list[Button]:
    return [Button("👍 Helpful", f"f:{entry.id}:1"), Button("👎 Not helpful", f"f:{entry.id}:0")]


def _detail_named(entry: Entry, words: set[str]) -> Detail | None:
    return next((d for d in entry.details if words.intersection(d.names)), None)


def _detail_named_any(entries: list[Entry], words: set[str]) -> bool:
    return any(_detail_named(e, words) for e in entries)

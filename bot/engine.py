"""The transport-free brain: ``Engine.handle(user, text)`` and ``Engine.press(user, data)``.

Channels (Telegram, the terminal, ``ask``) pass in what the user sent and render the returned
:class:`~bot.replies.Turn`. The engine runs each message in one transaction, at most once per
Telegram update, and routes it: a /command and a button press through the tables its features
register (:mod:`bot.commands`, :mod:`bot.reminders.commands`), typed text to the running dialog,
else to what features read (a reminder request), else to :class:`~bot.answers.Answers`.
Whatever a reply promises is saved before it returns.

Errors: a :class:`~bot.errors.UserError` is the reply; any other exception is logged and the
user gets the generic apology, with nothing of the failed turn committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.answers import Answers
from bot.buttons import Answer, ButtonData, Change, FreshDialog, Resume, StartDialog, unpack
from bot.commands import CoreCommands
from bot.conversation import QUIET, Context
from bot.database import StoreError
from bot.dialogs import DialogRunner, InvalidAnswer
from bot.errors import UserError
from bot.features import Command, Feature, Press
from bot.knowledge import Knowledge
from bot.notifications import Notification
from bot.reminders.commands import ReminderCommands
from bot.reminders.service import Reminders
from bot.replies import Reply, Turn, dump_replies, short, valid_text
from bot.store import Store, User
from bot.texts import Texts
from bot.understanding import Matcher, build_matcher

log = logging.getLogger(__name__)


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
        self._swept = 0.0  # when expired contexts were last emptied
        self._serve(kb, matcher)

    def _serve(self, kb: Knowledge, matcher: Matcher | None = None) -> None:
        self.kb = kb
        self.matcher = matcher or build_matcher(kb)
        self.texts = Texts(kb)
        self.answers = Answers(kb, self.matcher, self.texts, self.store, self.clock)
        self.reminders = Reminders(self.store, kb, self.clock)
        semantic = self.matcher.semantic
        embed = semantic.embedder.embed if semantic else None  # typed answers by meaning
        self.dialogs = DialogRunner(kb, embed=embed)  # features start and advance runs through it
        reminders = ReminderCommands(
            self.reminders, kb, self.texts, self.matcher, self.clock, self.dialogs
        )
        features = [reminders.feature()]
        for feature in features:
            self.dialogs.validators.update(feature.validators)
            self.dialogs.actions.update(feature.actions)
            self.dialogs.prompts.update(feature.prompts)
        self.core = CoreCommands(kb, self.store, self.texts, self.answers, self.dialogs)
        self._register([*features, self.core.feature()])

    def _register(self, features: list[Feature]) -> None:
        """Build the command and press tables; commands of one name are tried in order."""
        self._commands: dict[str, list[Command]] = {}
        self._presses: dict[type[ButtonData], Press] = {}
        self._private: set[str] = set()
        self._on_return = [f.on_return for f in features if f.on_return]
        self._reads = [f.reads for f in features if f.reads]
        for feature in features:
            for name, command in feature.commands.items():
                self._commands.setdefault(name, []).append(command)
            self._presses.update(feature.presses)
            self._private |= feature.private

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
            return self._once(user_id, update_id, lambda u: self._command(u, text, private), chat)
        return self._once(user_id, update_id, lambda user: self._text(user, text, private), chat)

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

    def _once(
        self,
        user_id: str,
        update_id: int | None,
        respond: Callable[[User], Turn],
        chat: str | None = None,
    ) -> Turn:
        """Run ``respond`` for the user in one transaction, at most once per Telegram update,
        with the replies owed to ``chat`` (if given) in the same commit."""
        try:
            with self.store.transaction():
                if update_id is not None and not self.store.claim_update(update_id):
                    return Turn([])
                self._sweep_contexts()
                user = self.store.user(user_id)
                returned = self._welcome_back(user)
                try:
                    turn = respond(user)
                except UserError as exc:  # raised before anything was changed
                    turn = Turn([Reply(str(exc))])
                turn.notifications[:0] = returned
                if not turn.forgotten:
                    self.store.save(user)
                if chat is not None and turn.replies:
                    turn.owed = self.store.outbox.owe(user_id, chat, dump_replies(turn.replies))
        except StoreError:  # the store has logged why, once per outage
            return Turn([self.texts.response("error")])
        except Exception:
            log.exception("could not answer user %s; nothing of it was saved", user_id)
            return Turn([self.texts.response("error")])
        return turn

    def _sweep_contexts(self) -> None:
        """Now and then, empty the contexts that expired (users who left keep none)."""
        now = self.clock()
        if now - self._swept >= QUIET:
            self.store.expire_contexts(now - QUIET)
            self._swept = now

    def _welcome_back(self, user: User) -> list[Notification]:
        """A user who had blocked the bot writes again: release what was held for them."""
        if user.active:
            return []
        user.active = True
        return [n for on_return in self._on_return for n in on_return(user)]

    # --- routing ------------------------------------------------------------------------------

    def _text(self, user: User, text: str, private: bool = True) -> Turn:
        running = self.dialogs.active(user)
        reask: list[Reply] | None = None
        if running:
            steer = self.dialogs.tours.steer(text)
            if steer == "stop":
                return self.core.cancel(user, "")
            if steer == "resume":
                return Turn([self.dialogs.question(user, *running)], running[0].id, 1.0, True)
        requested = self.dialogs.tours.requested(text, Context.of(user, self.clock()).topic)
        if requested is None and not running:
            requested = self.dialogs.tours.picker(text)  # "give me a tour": which one?
        if requested is not None and (not running or running[0].id != requested.id):
            return self.dialogs.start(user, requested)
        if running:
            try:
                answered = self.dialogs.type_answer(user, text)
            except InvalidAnswer as exc:
                answered, reask = None, exc.replies
            if answered is not None:
                return answered
        # not an answer to a step: "remind me to renew my FACHE next June" is still no question
        for read in self._reads:
            if (turn := read(user, text, private)) is not None:
                return turn
        turn = self.answers.question(user, text, redirect=reask is None)
        if turn is None:
            return Turn(reask or [])
        if running and user.dialog:
            self.answers.resume_offer(turn, running[0].title)
        return turn

    def _command(self, user: User, text: str, private: bool = True) -> Turn:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        if name in self._private and not private:
            return Turn([self.response("private_only")])
        for command in self._commands.get(name, []):
            turn = command(user, arg.strip())
            if turn is not None:
                return turn
        if name not in self._commands and (turn := self._as_words(user, f"{name} {arg}")):
            return turn
        return Turn([self.response("unknown_command", command=short("/" + name, 30))])

    def _as_words(self, user: User, text: str) -> Turn | None:
        """An unknown command read as what its words ask ("/salary", "/tour licensing"): a
        tour it requests, or a question it asks outright; None for anything less sure (the
        unknown-command reply then says which commands there are)."""
        said = text.replace("_", " ").strip()
        if not said:
            return None
        requested = self.dialogs.tours.named(said)  # "/licensing": the command asks for its tour
        if requested is None:
            requested = self.dialogs.tours.requested(said, Context.of(user, self.clock()).topic)
        if requested is None:
            requested = self.dialogs.tours.picker(said)  # "/tour", "/quiz": which one?
        if requested is not None:
            return self.dialogs.start(user, requested)
        if self.dialogs.tours.asks_for_tour(said):
            return Turn([self.response("menu")], matched=True)  # "/tour salary": the menu
        turn = self.answers.question(user, said, redirect=False)
        return turn if turn is not None and turn.matched else None

    def _press(self, user: User, data: str, private: bool = True) -> Turn:
        pressed = unpack(data)
        press = self._presses.get(type(pressed)) if pressed is not None else None
        if pressed is None or press is None:
            return Turn([self.response("stale_button")])
        if not private and self._personal(user, pressed):
            return Turn([self.response("private_only")])
        return press(user, pressed) or Turn([self.response("stale_button")])

    def _personal(self, user: User, pressed: ButtonData) -> bool:
        """Whether a press reads or changes the user's own data (reminders, time zone, ...)."""
        if pressed.personal:
            return True
        if isinstance(pressed, StartDialog | FreshDialog):
            dialog = self.kb.dialogs.get(pressed.dialog)
        elif isinstance(pressed, Answer | Change | Resume) and user.dialog:
            dialog = self.kb.dialogs.get(user.dialog.id)
        else:
            return False
        return dialog is not None and (
            dialog.command in self._private or dialog.action not in (None, "tour")
        )

    # --- for channels -------------------------------------------------------------------------

    def response(self, response_id: str, **values: str) -> Reply:
        """One of the bot's own replies, with ``$name`` placeholders filled in."""
        return self.texts.response(response_id, **values)

    def export(self, user_id: str) -> Reply:
        """Everything stored about the user, as a reply whose text is the JSON."""
        return self.core.export(user_id)

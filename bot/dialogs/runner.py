"""Runs the guided dialogs declared in ``knowledge/dialogs.yaml`` against a user's stored state.

A run lives in ``user.dialog`` (a :class:`~bot.dialogstate.DialogState`). Its ``run`` nonce is
carried by every button of that run, so a button from an older run is recognised as stale.
Remembered answers are kept in ``user.profile`` and reused by later dialogs (the user can change
them). A dialog ends in a result (a recommendation) or an action (saving a reminder).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping

from bot.buttons import DONE, Answer, Cancel, Change
from bot.dialogcheck import ANY, END, choices
from bot.dialogs.requests import TourRequests
from bot.dialogs.results import NUMBERS, describe, notes_reply, result_reply
from bot.dialogs.typed import Embed, TypedAnswers
from bot.dialogs.typed import number as number_of
from bot.dialogstate import DialogState
from bot.errors import UserError
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, Turn, short
from bot.schema import Dialog, Step
from bot.store import User

CANCEL = Button("Cancel", Cancel().pack())

# (user, step, typed text) -> (the slot value, a remark on how it was read or None; a Reply
# when the remark has buttons); raises UserError with a message for the user
Validator = Callable[[User, Step, str], tuple[str, str | Reply | None]]
# (user, slots) -> the turn that ends the dialog
Action = Callable[[User, dict[str, str]], Turn]
# (user, step, the question as the data words it) -> the question to send (an input's feature
# may word it for what the run knows: "Which day in June 2027?")
Prompt = Callable[[User, Step, Reply], Reply]


class InvalidAnswer(Exception):
    """Typed text that does not answer the current step; carries the re-ask."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("invalid answer")
        self.replies = replies


class DialogRunner:
    """Starts, advances and finishes dialogs for the engine."""

    def __init__(
        self,
        kb: Knowledge,
        validators: Mapping[str, Validator] | None = None,
        actions: Mapping[str, Action] | None = None,
        prompts: Mapping[str, Prompt] | None = None,
        embed: Embed | None = None,
    ) -> None:
        """Run ``kb``'s dialogs; ``validators`` read typed input, ``actions`` end dialogs,
        ``prompts`` (by input kind) word the questions of such steps; ``embed`` lets typed
        answers pick options by meaning."""
        self.kb = kb
        self.validators = dict(validators or {})
        self.actions = {"tour": self._start_picked, **(actions or {})}
        self.prompts = dict(prompts or {})
        self.typed = TypedAnswers(kb, embed)  # typed text read as a step's answer
        self.tours = TourRequests(kb)  # typed text asking for a tour, or to resume or stop one

    def start(
        self,
        user: User,
        dialog: Dialog,
        fresh: bool = False,
        slots: Mapping[str, str] | None = None,
        given: Iterable[str] = (),
    ) -> Turn:
        """Begin ``dialog`` (replacing any active one); ``fresh`` re-asks remembered answers.

        ``slots`` start the run filled; the steps of the ``given`` ones are not asked (a request
        typed in plain words said them), the others are there for validators and prompts.
        """
        redo = sorted({s.slot for s in dialog.steps}) if fresh else []
        user.dialog = DialogState(
            id=dialog.id,
            run=secrets.token_hex(3),
            step=dialog.start,
            redo=redo,
            slots=dict(slots or {}),
            given=sorted(given),
        )
        return self.advance(user)

    def active(self, user: User) -> tuple[Dialog, Step] | None:
        """The user's running dialog and its current step, if any (and if the data has them)."""
        state = user.dialog
        if not state or state.id not in self.kb.dialogs:
            return None
        dialog = self.kb.dialogs[state.id]
        step = next((s for s in dialog.steps if s.id == state.step), None)
        return (dialog, step) if step else None

    def advance(self, user: User) -> Turn:
        """Skip steps the profile already answers; ask the next question or finish."""
        state = _state(user)
        dialog = self.kb.dialogs[state.id]
        steps = {s.id: s for s in dialog.steps}
        notes: list[str] = []
        changes: list[Button] = []
        while state.step != END:
            step = steps[state.step]
            if step.slot in state.given and step.slot not in state.redo:
                state.step = _after(step, state.slots.get(step.slot, ""))
                continue
            known = str(user.profile.get(step.slot, ""))
            remembered = step.remember and step.slot not in state.redo
            nxt = _next_for(step, known) if remembered else None
            if nxt is None:
                return _turn([*notes_reply(notes, changes), self.question(user, dialog, step)])
            state.slots[step.slot] = known
            said = describe(user, step, known)
            notes.append(f"{step.ask} → {said}")
            change = Change(run=state.run, step=step.id).pack()
            changes.append(Button(short(f"Change: {said}"), change))
            state.step = nxt
        user.dialog = None
        if dialog.action is not None:
            end = self.actions[dialog.action](user, state.slots)
        else:
            end = _turn([result_reply(self.kb, dialog, state.slots)])
        end.replies[:0] = notes_reply(notes, changes)
        return end

    def question(self, user: User, dialog: Dialog, step: Step) -> Reply:
        """The message asking ``step``'s question, with its buttons and a cancel button."""
        state = _state(user)
        run = state.run
        picked = set(state.picked)
        buttons = [
            Button(
                ("✅ " if o.id in picked else "") + o.label,
                Answer(run=run, step=step.id, option=o.id).pack(),
            )
            for o in step.options
        ]
        if step.multi:
            buttons.append(Button("Done", Answer(run=run, step=step.id, option=DONE).pack()))
        buttons.append(CANCEL)
        hint = "\n(Type a number.)" if step.input == "number" else ""
        asked = Reply(step.ask + hint, title=dialog.title, buttons=buttons)
        prompt = self.prompts.get(step.input or "")
        return prompt(user, step, asked) if prompt else asked

    def keep(self, user: User, dialog_id: str, step: str, slots: dict[str, str]) -> DialogState:
        """Keep a finished run's answers waiting at ``step`` (a feature's own: a confirmation),
        as a new run whose every slot counts as given: a Change re-asks one and comes back."""
        user.dialog = DialogState(
            id=dialog_id, run=secrets.token_hex(3), step=step, slots=slots, given=sorted(slots)
        )
        return user.dialog

    def give(self, user: User, run: str, step_id: str, value: str) -> Turn | None:
        """Answer the current step with ``value`` (a button carrying a value that is no option,
        like a date to pick); None when the button is stale (another run or step)."""
        found = self.active(user)
        if not found or _state(user).run != run or found[1].id != step_id:
            return None
        return self._record(user, found[1], value, found[1].next or END)

    def choose(self, user: User, run: str, step_id: str, value: str) -> Turn | None:
        """Apply a pressed option; None when the button is stale (another run or step)."""
        found = self.active(user)
        if not found or _state(user).run != run or found[1].id != step_id:
            return None
        dialog, step = found
        if step.multi:
            return self._toggle(user, dialog, step, value)
        option = next((o for o in step.options if o.id == value), None)
        if option is None:
            return None
        return self._record(user, step, option.id, option.next or END)

    def _toggle(self, user: User, dialog: Dialog, step: Step, value: str) -> Turn | None:
        state = _state(user)
        picked = state.picked
        if value == DONE:
            if not picked:
                return _turn(
                    [
                        Reply("Please pick at least one, then tap Done."),
                        self.question(user, dialog, step),
                    ]
                )
            ordered = [o.id for o in step.options if o.id in picked]
            state.picked = []
            return self._record(user, step, ",".join(ordered), step.next or END)
        if value not in {o.id for o in step.options}:
            return None
        if value in picked:
            picked.remove(value)
        else:
            picked.append(value)
        return _turn([self.question(user, dialog, step)])

    def _record(self, user: User, step: Step, value: str, nxt: str) -> Turn:
        state = _state(user)
        state.slots[step.slot] = value
        state.redo = [s for s in state.redo if s != step.slot]
        if step.remember:
            user.profile[step.slot] = value
        state.step = nxt
        return self.advance(user)

    def change(self, user: User, run: str, step_id: str) -> Turn | None:
        """Re-ask a remembered answer; None when the button is stale."""
        state = user.dialog
        if not state or state.run != run or state.id not in self.kb.dialogs:
            return None
        dialog = self.kb.dialogs[state.id]
        step = next((s for s in dialog.steps if s.id == step_id), None)
        if step is None:
            return None
        state.redo = sorted({*state.redo, step.slot})
        state.step = step.id
        return _turn([self.question(user, dialog, step)])

    def type_answer(self, user: User, text: str) -> Turn | None:
        """Apply typed text to the current step.

        Returns the next replies, or None when the text is no answer at all (the engine then
        treats it as a question). Raises :class:`InvalidAnswer` for an answer that fails its
        step's validation (a bad number or date): the engine answers a real question instead,
        or re-asks.
        """
        found = self.active(user)
        if not found:
            return None
        dialog, step = found
        option = next((o for o in step.options if o.id == self.typed.option(step, text)), None)
        if option is not None:
            return self._record(user, step, option.id, option.next or END)
        if step.input == "number":
            return self._number(user, dialog, step, text)
        if step.input is None:
            return None
        try:
            value, remark = self.validators[step.input](user, step, text)
        except UserError as exc:
            raise InvalidAnswer([self._reask(dialog, step, str(exc))]) from None
        turn = self._record(user, step, value, step.next or END)
        if remark:
            turn.replies.insert(0, remark if isinstance(remark, Reply) else Reply(remark))
        return turn

    def _start_picked(self, user: User, slots: dict[str, str]) -> Turn:
        """End the "which tour?" dialog by starting the tour its answer picked."""
        return self.start(user, self.kb.dialogs[slots["tour"]])

    def _number(self, user: User, dialog: Dialog, step: Step, text: str) -> Turn:
        number = number_of(text)
        if number is None or not step.min <= number <= step.max:
            raise InvalidAnswer([self._reask(dialog, step)])
        value = next(
            (r.value for r in step.ranges if r.under is None or number < r.under),
            step.ranges[-1].value,
        )
        if step.remember:
            user.profile.setdefault(NUMBERS, {})[step.slot] = number
        return self._record(user, step, value, step.next or END)

    def _reask(self, dialog: Dialog, step: Step, why: str | None = None) -> Reply:
        text = why or step.invalid or f"Please type a number from {step.min:g} to {step.max:g}."
        if why and step.invalid:
            text = f"{why}\n{step.invalid}"
        return Reply(text, title=dialog.title, buttons=[CANCEL])


def _state(user: User) -> DialogState:
    """The running dialog's state, where the caller knows one runs."""
    if user.dialog is None:
        raise LookupError(f"user {user.id} is in no dialog")
    return user.dialog


def _turn(replies: list[Reply]) -> Turn:
    """A turn of the dialog (always one the bot understood)."""
    return Turn(replies, matched=True)


def _after(step: Step, value: str) -> str:
    """The step after one whose slot holds ``value`` (an option's own next, or the step's)."""
    option = next((o for o in step.options if o.id == value), None)
    return (option.next if option else None) or step.next or END


def _next_for(step: Step, value: str) -> str | None:
    """The step after one whose remembered ``value`` is an option of it (None: ask again)."""
    for option_value, nxt in choices(step):
        if option_value == value and option_value != ANY:
            return nxt
    return None

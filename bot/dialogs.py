"""Runs the guided dialogs declared in ``knowledge/dialogs.yaml`` against a user's stored state.

A run lives in ``user.dialog`` (a :class:`~bot.dialogstate.DialogState`). Its ``run`` nonce is
carried by every button of that run, so a button from an older run is recognised as stale.
Remembered answers are kept in ``user.profile`` and reused by later dialogs (the user can change
them). A dialog ends in a result (a recommendation) or an action (saving a reminder).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping

from rapidfuzz import fuzz, process, utils

from bot.buttons import DONE, Answer, Cancel, Change, FreshDialog
from bot.dialogcheck import ANY, END, choices, pick_result
from bot.dialogstate import DialogState
from bot.errors import UserError
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, Turn, short
from bot.schema import Dialog, Step
from bot.store import User
from bot.texts import topic_button

NUMBERS = "_numbers"  # profile key holding typed numbers, to restate them exactly
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
    ) -> None:
        """Run ``kb``'s dialogs; ``validators`` read typed input, ``actions`` end dialogs,
        ``prompts`` (by input kind) word the questions of such steps."""
        self.kb = kb
        self.validators = dict(validators or {})
        self.actions = {"tour": self._start_picked, **(actions or {})}
        self.prompts = dict(prompts or {})

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
                return _turn([*_notes_reply(notes, changes), self.question(user, dialog, step)])
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
        end.replies[:0] = _notes_reply(notes, changes)
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
        option = self._typed_option(step, text)
        if option is not None:
            return self._record(user, step, option[0], option[1])
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

    def requested(self, text: str, topic: str | None = None) -> Dialog | None:
        """The tour a message asks for ("walk me through licensing"), if it asks for one: the
        one its topic words name, else (for "walk me through it") the one whose results draw
        most on the ``topic`` in play."""
        if not self.asks_for_tour(text):
            return None
        return self.named(text) or (self.for_topic(topic) if topic else None)

    def asks_for_tour(self, text: str) -> bool:
        """Whether a message uses a tour request phrase ("walk me through", "quiz", "finder")."""
        words = utils.default_process(text)
        return any(_has_phrase(words, p) for p in self.kb.tours.requests)

    def named(self, text: str) -> Dialog | None:
        """The one tour whose topic words a message uses ("licensing", "degrees"), if one."""
        said = set(utils.default_process(text).split())
        asked = [d for d in self.kb.dialogs.values() if said & set(d.asked_for)]
        return asked[0] if len(asked) == 1 else None

    def picker(self, text: str) -> Dialog | None:
        """The "which tour?" dialog when a message asks for a tour and names none ("/tour",
        "give me a tour", "what tours do you have"): nothing left besides its request phrase,
        fillers and menu words; else None (a message with words of its own is a question)."""
        if not self.asks_for_tour(text):
            return None
        tours = self.kb.tours
        left = f" {utils.default_process(text)} "
        for phrase in sorted(tours.requests, key=len, reverse=True):
            left = left.replace(f" {phrase} ", "  ")
        if not set(left.split()) <= {*tours.fillers, *tours.menu}:
            return None
        return next((d for d in self.kb.dialogs.values() if d.action == "tour"), None)

    def _start_picked(self, user: User, slots: dict[str, str]) -> Turn:
        """End the "which tour?" dialog by starting the tour its answer picked."""
        return self.start(user, self.kb.dialogs[slots["tour"]])

    def for_topic(self, topic: str) -> Dialog | None:
        """The tour whose results cite ``topic`` most often (none cites it: None)."""
        cited = {
            d.id: sum(r.entries.count(topic) for r in d.results) for d in self.kb.dialogs.values()
        }
        best = max(cited, key=lambda k: cited[k], default=None)
        return self.kb.dialogs[best] if best and cited[best] else None

    def steer(self, text: str) -> str | None:
        """``stop`` or ``resume`` when a message only says that ("ok, carry on"), else None."""
        words = utils.default_process(text)
        tours = self.kb.tours
        for verdict, phrases in (("stop", tours.stop), ("resume", tours.resume)):
            left = f" {words} "
            for phrase in phrases:
                left = left.replace(f" {phrase} ", "  ")
            if left != f" {words} " and set(left.split()) <= set(tours.fillers):
                return verdict
        return None

    def asks(self, text: str) -> bool:
        """Whether typed text is a question rather than an answer to a step: a question word
        first once the asides are left out ("wait, do nursing home admins need a license"), or
        a question mark in more than a few words ("quick one: how long do those take?")."""
        words = f" {utils.default_process(text)} "
        for aside in sorted(self.kb.tours.asides, key=len, reverse=True):
            words = words.replace(f" {aside} ", " ")
        said = [w for w in words.split() if w not in self.kb.tours.fillers]
        if said and said[0] in QUESTION_WORDS:
            return True
        return "?" in text and len(text.split()) > SHORT_ANSWER

    def _typed_option(self, step: Step, text: str) -> tuple[str, str] | None:
        if step.multi or not step.options or self.asks(text):
            return None
        said = _affirmed(utils.default_process(text))
        labels = {o.id: utils.default_process(o.label) for o in step.options}
        best = process.extractOne(said, labels, scorer=fuzz.token_set_ratio, score_cutoff=90)
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
        if found is None:
            return None
        option = next(o for o in step.options if o.id == found)
        return option.id, option.next or END

    def _ordinal(self, step: Step, text: str) -> str | None:
        """The option a short answer picks by its place ("the second one", "2", "option 3")."""
        words = utils.default_process(text).split()
        if not words or len(words) > SHORT_ANSWER + 1 or step.input == "number":
            return None
        ordinals = self.kb.tours.ordinals
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
        tours = self.kb.tours
        if any(f" {p} " in words for p in tours.unsure):
            return None
        said = [
            v
            for v, ps in (("yes", tours.yes), ("no", tours.no))
            if any(f" {p} " in words for p in ps)
        ]
        return said[0] if len(said) == 1 else None

    def _number(self, user: User, dialog: Dialog, step: Step, text: str) -> Turn:
        number = _number(text)
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


QUESTION_WORDS = {"what", "how", "why", "when", "where", "who", "which", "is", "are", "do", "does"}
QUESTION_WORDS |= {"can", "could", "should", "would", "will", "whats", "hows", "wat"}
SHORT_ANSWER = 3  # words: "nursing home?" is still a (hesitant) answer
PLAIN_WORDS = {"a", "an", "the", "or", "and", "in", "of", "for", "to", "my", "i", "im", "yes"}


def _has_phrase(words: str, phrase: str) -> bool:
    return f" {phrase} " in f" {words} "


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
    used = {w for w in words if w.isalpha()} - PLAIN_WORDS  # "25:00" is not the 09:00 button
    scores = {
        o.id: len(used & (set(utils.default_process(o.label).split()) | set(o.means)))
        for o in step.options
    }
    ranked = sorted(scores.values(), reverse=True)
    if not ranked or ranked[0] == 0 or (len(ranked) > 1 and ranked[1] == ranked[0]):
        return None
    return max(scores, key=lambda k: scores[k])


def _state(user: User) -> DialogState:
    """The running dialog's state, where the caller knows one runs."""
    if user.dialog is None:
        raise LookupError(f"user {user.id} is in no dialog")
    return user.dialog


def _turn(replies: list[Reply]) -> Turn:
    return Turn(replies, matched=True)


def _notes_reply(notes: list[str], changes: list[Button]) -> list[Reply]:
    if not notes:
        return []
    text = "Using what you told me before:\n" + "\n".join(f"• {n}" for n in notes)
    return [Reply(text, buttons=changes)]


def _after(step: Step, value: str) -> str:
    """The step after one whose slot holds ``value`` (an option's own next, or the step's)."""
    option = next((o for o in step.options if o.id == value), None)
    return (option.next if option else None) or step.next or END


def _next_for(step: Step, value: str) -> str | None:
    for option_value, nxt in choices(step):
        if option_value == value and option_value != ANY:
            return nxt
    return None


def describe(user: User, step: Step, value: str) -> str:
    """How a stored answer reads back to the user."""
    if step.input == "number":
        number = user.profile.get(NUMBERS, {}).get(step.slot)
        return f"{number:g}" if isinstance(number, int | float) else value
    return next((o.label for o in step.options if o.id == value), value)


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


def _number(text: str) -> float | None:
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


def result_reply(kb: Knowledge, dialog: Dialog, slots: dict[str, str]) -> Reply:
    """The recommendation for ``slots``, citing the sources of the entries it draws on."""
    result = pick_result(dialog, slots)
    if result is None:  # `check` proves every path has one: data that skipped it
        raise LookupError(f"dialog {dialog.id}: no result for {slots}")
    entries = [kb.entries[e] for e in result.entries]
    sources = kb.cite([s for e in entries for s in e.sources])
    buttons = [topic_button(e) for e in entries]
    buttons.append(Button("Start over", FreshDialog(dialog=dialog.id).pack()))
    title = f"{dialog.title}: my suggestion"
    return Reply(result.text, title=title, sources=sources, buttons=buttons)

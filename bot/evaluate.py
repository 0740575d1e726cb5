"""``eval``: intent accuracy on a labelled set, answered as ``ask`` does (a fresh user each)."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.buttons import Answer
from bot.dialogstate import DialogState
from bot.engine import Engine
from bot.knowledge import load
from bot.replies import Turn
from bot.store import Store, User
from bot.yamlfile import read

OOS = "oos"
DATA_SETS = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_SETS = [DATA_SETS / "labelled.yaml", DATA_SETS / "realistic.yaml"]


class Example(BaseModel):
    """One labelled question."""

    model_config = ConfigDict(extra="forbid")
    text: str
    label: str
    kind: str | None = None


class LabelledSet(BaseModel):
    """``tests/data/labelled.yaml``."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    examples: list[Example]


@dataclass
class Report:
    """The outcome of an evaluation run."""

    total: int = 0
    in_scope: int = 0
    correct: int = 0  # answered outright with the right intent
    first: int = 0  # the right intent ranked first: answered, or the first "did you mean" button
    wrong: int = 0  # answered confidently with the wrong intent: the worst outcome
    unsure: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    true_pos: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    actual: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Top-1 accuracy: share of in-scope questions whose first-ranked intent is right."""
        return self.first / self.in_scope if self.in_scope else 0.0

    @property
    def answered(self) -> float:
        """Share of in-scope questions answered outright with the right intent."""
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def redirected(self) -> int:
        """In-scope questions treated as off-topic."""
        return self.in_scope - self.correct - self.wrong - self.unsure

    @property
    def wrong_rate(self) -> float:
        """Share of in-scope questions answered outright with the wrong intent."""
        return self.wrong / self.in_scope if self.in_scope else 0.0

    @property
    def rejection(self) -> float:
        """Share of out-of-scope questions not answered."""
        return self.rejected / self.out_of_scope if self.out_of_scope else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        return _percentile(self.latencies, p)


def _percentile(latencies: list[float], p: float) -> float:
    ordered = sorted(latencies)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def load_set(path: Path) -> list[Example]:
    """Read a labelled set."""
    return LabelledSet.model_validate(read(path).data).examples


def evaluate(engine: Engine, examples: list[Example]) -> Report:
    """Answer every example as a fresh user and tally the results."""
    report = Report()
    for n, example in enumerate(examples):
        start = time.perf_counter()
        turn = engine.handle(f"eval-{n}", example.text)
        report.latencies.append(time.perf_counter() - start)
        predicted = (turn.intent or OOS) if turn.matched else OOS
        report.total += 1
        report.actual[example.label] += 1
        report.predicted[predicted] += 1
        if predicted == example.label:
            report.true_pos[predicted] += 1
        if example.label == OOS:
            report.out_of_scope += 1
            report.rejected += predicted == OOS
        else:
            report.in_scope += 1
            if predicted == example.label:
                report.correct += 1
            elif predicted == OOS:
                report.unsure += bool(turn.suggestions)
            else:
                report.wrong += 1
            offered = (
                predicted if predicted != OOS else (turn.intent if turn.suggestions else None)
            )
            report.first += offered == example.label
        if predicted != example.label:
            report.pairs[(example.label, predicted)] += 1
            report.misses.append((example.text, example.label, predicted))
    return report


def format_report(report: Report, show_misses: bool = False) -> str:
    """The report as text."""
    lines = [
        f"examples: {report.total} ({report.in_scope} in scope, "
        f"{report.out_of_scope} out of scope)",
        f"top-1 accuracy (in scope): {report.accuracy:.1%} ({report.first}/{report.in_scope}: "
        f"the right topic answered, or offered first under 'did you mean')",
        f"  answered outright and right: {report.answered:.1%} ({report.correct}); "
        f"answered wrong: {report.wrong_rate:.1%} ({report.wrong}); "
        f"'did you mean': {report.unsure}; "
        f"redirected as off-topic: {report.redirected}",
        f"out-of-scope rejection: {report.rejection:.1%} "
        f"({report.rejected}/{report.out_of_scope})",
        f"latency per question (engine): p50 {report.percentile(50):.2f} ms, "
        f"p99 {report.percentile(99):.2f} ms",
        "",
        "per intent (precision / recall / support):",
    ]
    for label in sorted(report.actual):
        tp = report.true_pos[label]
        precision = tp / report.predicted[label] if report.predicted[label] else 0.0
        recall = tp / report.actual[label]
        flag = "  <--" if recall < 0.75 or precision < 0.75 else ""
        lines.append(f"  {label:24} {precision:6.0%} {recall:6.0%} {report.actual[label]:4}{flag}")
    lines += ["", "most confused (expected -> got):"]
    for (expected, got), count in report.pairs.most_common(10):
        lines.append(f"  {count:3}  {expected} -> {got}")
    if show_misses:
        lines += ["", "misses:"]
        lines += [f"  [{exp} -> {got}] {text}" for text, exp, got in report.misses]
    return "\n".join(lines)


# --- conversations (tests/data/conversations.yaml) ---------------------------------------------

CONVERSATIONS = DATA_SETS / "conversations.yaml"
TOUR = "tour"


class ConversationTurn(BaseModel):
    """One message of a conversation, with what its reply must do."""

    model_config = ConfigDict(extra="forbid")
    say: str
    label: str  # an intent id, ``oos`` (declined) or ``tour``
    also: str | None = None  # a two-part message's second topic
    detail: str | None = None
    facts: list[
        str
    ] = []  # lowercase substrings the reply must hold; [] with a note: "not covered"
    note: str | None = None
    expect: Literal["start", "answer", "resume", "stop", "option"] | None = None
    tour: str | None = None  # the tour a start turn picks (the set's own name for it)
    option: str | None = None  # what a typed answer means, in the set's words


class Conversation(BaseModel):
    """A few turns by one user."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    style: str
    turns: list[ConversationTurn]


class ConversationSet(BaseModel):
    """``tests/data/conversations.yaml``: the set as written, plus the mapping keys added to it.

    ``tours`` maps the set's tour names to dialog ids, ``options`` a typed answer's meaning to
    ``dialog.step.option`` (null: nothing in the tours means it), ``uncovered`` the phrases by
    which a reply says the documents do not cover something.
    """

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    tours: dict[str, str] = {}
    options: dict[str, str | None] = {}
    uncovered: list[str] = []
    conversations: list[Conversation]


@dataclass
class ConversationReport:
    """Turns right per kind of conversation."""

    right: Counter[str] = field(default_factory=Counter)
    turns: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (conversation, said, why)

    @property
    def accuracy(self) -> float:
        """Share of all turns whose reply did what the set asks."""
        total = sum(self.turns.values())
        return sum(self.right.values()) / total if total else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        return _percentile(self.latencies, p)


def load_conversations(path: Path = CONVERSATIONS) -> ConversationSet:
    """Read a conversation set."""
    return ConversationSet.model_validate(read(path).data)


def evaluate_conversations(engine: Engine, data: ConversationSet) -> ConversationReport:
    """Play every conversation as a fresh user and judge each turn's reply."""
    report = ConversationReport()
    for n, conversation in enumerate(data.conversations):
        user_id = f"conv-{n}"
        for turn in conversation.turns:
            before = engine.store.user(user_id)
            start = time.perf_counter()
            got = engine.handle(user_id, turn.say)
            report.latencies.append(time.perf_counter() - start)
            why = _judge(engine, data, turn, got, before)
            report.turns[conversation.kind] += 1
            if why is None:
                report.right[conversation.kind] += 1
            else:
                report.misses.append((conversation.id, turn.say, why))
    return report


def _judge(
    engine: Engine, data: ConversationSet, turn: ConversationTurn, got: Turn, before: User
) -> str | None:
    """None when the reply does what the turn asks, else why not."""
    after = engine.store.user(before.id).dialog
    if turn.label == TOUR:
        return _judge_tour(engine, data, turn, got, before, after)
    if turn.expect == "answer" and after is None:
        return "the tour ended"
    if turn.label == OOS:
        return "answered" if got.matched else None
    text = "\n".join(r.plain() for r in got.replies).lower()
    titles = {r.title for r in got.replies}
    for label in filter(None, [turn.label, turn.also]):
        entry = engine.kb.entries.get(label)
        if got.intent != label and (entry is None or entry.title not in titles):
            return f"not {label} (got {got.intent})"
    missing = [f for f in turn.facts if f.lower() not in text]
    if missing:
        return f"lacks {missing}"
    if not turn.facts and not any(m in text for m in data.uncovered):
        return "does not say the documents don't cover it"
    return None


def _judge_tour(
    engine: Engine,
    data: ConversationSet,
    turn: ConversationTurn,
    got: Turn,
    before: User,
    after: DialogState | None,
) -> str | None:
    if turn.expect == "start":
        if after is None:
            return "no tour started"
        wanted = data.tours.get(turn.tour or "")
        return f"started {after.id}, not {wanted}" if wanted and after.id != wanted else None
    if turn.expect == "stop":
        return "the tour goes on" if after is not None or before.dialog is None else None
    if turn.expect == "resume":
        step = after and next(
            (s for s in engine.kb.dialogs[after.id].steps if s.id == after.step), None
        )
        if not step:
            return "no tour to resume"
        asked = _filled(step.ask)
        return None if any(asked.search(r.text) for r in got.replies) else "step not offered again"
    meant = data.options.get(turn.option or "")
    if not meant:
        return f"no option of the tours means {turn.option!r}"
    dialog, step_id, option = meant.split(".")
    if before.dialog is None or (before.dialog.id, before.dialog.step) != (dialog, step_id):
        return f"not at {dialog}.{step_id}"
    # right when the reply is what tapping that option's button gives, for a twin of the user
    twin = replace(before, id=before.id + "-twin")
    with engine.store.transaction():
        engine.store.save(twin)
    if option.startswith("="):
        tapped = engine.handle(twin.id, option[1:])
    else:
        pressed = Answer(run=before.dialog.run, step=step_id, option=option).pack()
        tapped = engine.press(twin.id, pressed)
    same = [r.plain() for r in tapped.replies] == [r.plain() for r in got.replies]
    return None if same else f"not taken as {option}"


def format_conversations(report: ConversationReport, show_misses: bool = False) -> str:
    """The conversation report as text."""
    total, right = sum(report.turns.values()), sum(report.right.values())
    lines = [
        f"turns right: {report.accuracy:.1%} ({right}/{total})",
        f"latency per turn (engine): p50 {report.percentile(50):.2f} ms, "
        f"p99 {report.percentile(99):.2f} ms",
        "per kind (right / turns):",
    ]
    for kind in sorted(report.turns):
        share = report.right[kind] / report.turns[kind]
        lines.append(f"  {kind:20} {share:6.1%} {report.right[kind]:4}/{report.turns[kind]}")
    if show_misses:
        lines += ["", "misses:"]
        lines += [f"  [{cid}] {said!r}: {why}" for cid, said, why in report.misses]
    return "\n".join(lines)


def eval_command(
    path: Path | None, show_misses: bool = False, data_dir: Path | None = None
) -> int:
    """Run the evaluation on ``path`` (default: every shipped set) and print the reports.

    A file with ``conversations:`` is played as conversations, any other as single questions.
    """
    paths = [path] if path else [p for p in [*DEFAULT_SETS, CONVERSATIONS] if p.exists()]
    kb = load(data_dir)
    for n, each in enumerate(paths):
        engine = Engine(kb, Store(":memory:"))  # fresh users: no context from another set
        print(("\n" if n else "") + f"set: {each}")
        raw = read(each).data
        if isinstance(raw, dict) and "conversations" in raw:
            report = evaluate_conversations(engine, ConversationSet.model_validate(raw))
            print(format_conversations(report, show_misses))
        else:
            print(format_report(evaluate(engine, load_set(each)), show_misses))
    return 0


def _filled(ask: str) -> re.Pattern[str]:
    """A step's question as replies show it: each ``$placeholder`` (a date example the step
    fills in when it asks) matches whatever it was filled with."""
    parts = re.split(r"\$\w+", ask)
    return re.compile(".+?".join(re.escape(part) for part in parts))

"""``eval``: intent accuracy on a labelled set, answered as ``ask`` does (a fresh user each)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.engine import Engine
from bot.knowledge import load
from bot.store import Store
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
        ordered = sorted(self.latencies)
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


def eval_command(
    path: Path | None, show_misses: bool = False, data_dir: Path | None = None
) -> int:
    """Run the evaluation on ``path`` (default: both shipped sets) and print the reports."""
    paths = [path] if path else [p for p in DEFAULT_SETS if p.exists()]
    kb = load(data_dir)
    for n, each in enumerate(paths):
        engine = Engine(kb, Store(":memory:"))  # fresh users: no context from another set
        print(("\n" if n else "") + f"set: {each}")
        print(format_report(evaluate(engine, load_set(each)), show_misses))
    return 0

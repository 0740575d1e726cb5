"""Load and validate the data folders (``intents/``, ``knowledge/``) into a :class:`Knowledge`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from rapidfuzz import utils

from bot import chartcheck, dialogcheck
from bot.schema import (
    Chart,
    Dialog,
    Entry,
    FollowUp,
    Intent,
    IntentsFile,
    KnowledgeFile,
    LexiconFile,
    OutOfScopeFile,
    ReminderWordsFile,
    Response,
    Source,
    SourcesFile,
    SplitWords,
    ThreadWords,
    TourWords,
)
from bot.yamlfile import Loc, YamlDoc, YamlError, read

M = TypeVar("M", bound=BaseModel)
OUT_OF_SCOPE = "out_of_scope.yaml"  # the semantic classifier's negative examples
REMINDER_WORDS = "reminder_words.yaml"  # what makes and fills a reminder request

# Responses the engine relies on; `check` reports any that the knowledge lacks.
REQUIRED_RESPONSES = (
    "start",
    "help",
    "menu",
    "off_topic",
    "medical",
    "empty",
    "unsure",
    "unknown_command",
    "stale_button",
    "cancelled",
    "nothing_to_cancel",
    "resume",
    "forget_confirm",
    "forgotten",
    "forget_kept",
    "feedback_thanks",
    "export",
    "non_text",
    "error",
    "private_only",
    "remind_usage",
    "timezone_help",
    "timezone_set",
    "timezone_move_offer",
    "timezone_moved",
    "timezone_kept",
    "reminder_deleted",
    "reminder_done",
    "snoozed",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data, located as ``path:line``."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Knowledge:
    """Everything the bot knows, validated and cross-referenced."""

    sources: dict[str, Source] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    tours: TourWords = field(default_factory=TourWords)
    follow_ups: list[FollowUp] = field(default_factory=list)
    threads: ThreadWords = field(default_factory=ThreadWords)
    splits: SplitWords = field(default_factory=SplitWords)
    named: dict[str, str] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)  # pictures of entries' numbers
    intents: dict[str, Intent] = field(default_factory=dict)
    lexicon: LexiconFile = field(default_factory=lambda: LexiconFile(version=1))
    out_of_scope: list[str] = field(default_factory=list)  # intents/out_of_scope.yaml
    reminder_words: ReminderWordsFile | None = None  # intents/reminder_words.yaml
    data_dir: Path | None = None  # where it was loaded from (the classifier artifact lives there)

    def summary(self) -> str:
        """One line with the counts, as ``check`` prints it."""
        examples = sum(len(i.examples) for i in self.intents.values())
        return (
            f"ok: {len(self.entries)} entries, {len(self.responses)} responses, "
            f"{len(self.dialogs)} dialogs, {len(self.charts)} charts, "
            f"{len(self.intents)} intents ({examples} examples), "
            f"{len(self.sources)} sources"
        )

    def cite(self, source_ids: list[str]) -> list[str]:
        """Titles of the given sources, in order, without repeats."""
        return list(dict.fromkeys(self.sources[s].title for s in source_ids if s in self.sources))


class DataError(Exception):
    """The data folders have problems; ``problems`` lists them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def default_data_dir() -> Path:
    """The shipped folder with ``intents/`` and ``knowledge/`` (another is a setting)."""
    here = Path(__file__).resolve().parent
    shipped = here / "data"  # inside an installed wheel
    return shipped if (shipped / "knowledge").is_dir() else here.parent


def load(data_dir: Path | None = None) -> Knowledge:
    """Load and validate the data; raise :class:`DataError` listing every problem."""
    knowledge, problems = check(data_dir or default_data_dir())
    if problems:
        raise DataError(problems)
    return knowledge


def check(data_dir: Path) -> tuple[Knowledge, list[Problem]]:
    """Validate ``data_dir``; return what loaded and the problems found (empty when clean)."""
    loader = _Loader(data_dir)
    loader.kb.data_dir = data_dir
    for sub in ("knowledge", "intents"):
        if not (data_dir / sub).is_dir():
            loader.problems.append(Problem(data_dir / sub, 1, "folder not found"))
    if loader.problems:
        return loader.kb, loader.problems
    loader.load_sources(data_dir / "knowledge" / "sources.yaml")
    for path in _yaml_files(data_dir / "knowledge", skip="sources.yaml"):
        loader.load_knowledge(path)
    lexicon = data_dir / "intents" / "lexicon.yaml"
    if lexicon.exists():
        loader.load_lexicon(lexicon)
    out_of_scope = data_dir / "intents" / OUT_OF_SCOPE
    if out_of_scope.exists():
        loader.load_out_of_scope(out_of_scope)
    reminder_words = data_dir / "intents" / REMINDER_WORDS
    if reminder_words.exists():
        loader.load_reminder_words(reminder_words)
    for path in _yaml_files(
        data_dir / "intents", skip=("lexicon.yaml", OUT_OF_SCOPE, REMINDER_WORDS)
    ):
        loader.load_intents(path)
    loader.cross_check()
    return loader.kb, sorted(loader.problems, key=lambda p: (str(p.path), p.line))


def _yaml_files(folder: Path, skip: str | tuple[str, ...]) -> Iterator[Path]:
    skipped = (skip,) if isinstance(skip, str) else skip
    for path in sorted(folder.glob("*.y*ml")):
        if path.name not in skipped:
            yield path


class _Loader:
    """Collects models and problems file by file, remembering where each id was defined."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.kb = Knowledge()
        self.problems: list[Problem] = []
        self.where: dict[tuple[str, str], tuple[YamlDoc, Loc]] = {}
        self.threads: list[tuple[YamlDoc, KnowledgeFile]] = []  # files with conversation data

    def problem(self, doc: YamlDoc, loc: Loc, message: str) -> None:
        self.problems.append(Problem(doc.path, doc.line(loc), message))

    def parse(self, path: Path, model: type[M]) -> tuple[YamlDoc, M] | None:
        try:
            doc = read(path)
        except YamlError as exc:
            self.problems.append(Problem(exc.path, exc.line, exc.message))
            return None
        try:
            return doc, model.model_validate(doc.data)
        except ValidationError as exc:
            for err in exc.errors():
                self.problem(doc, tuple(err["loc"]), _describe(err))
            return None

    def add(self, kind: str, table: dict[str, Any], item: Any, doc: YamlDoc, loc: Loc) -> None:
        if item.id in table:
            first, _ = self.where[(kind, item.id)]
            self.problem(
                doc, (*loc, "id"), f"duplicate {kind} id '{item.id}' (first in {first.path})"
            )
            return
        table[item.id] = item
        self.where[(kind, item.id)] = (doc, loc)

    def load_sources(self, path: Path) -> None:
        if not path.exists():
            self.problems.append(Problem(path, 1, "sources file not found"))
            return
        parsed = self.parse(path, SourcesFile)
        if parsed:
            doc, model = parsed
            for i, source in enumerate(model.sources):
                self.add("source", self.kb.sources, source, doc, ("sources", i))

    def load_knowledge(self, path: Path) -> None:
        parsed = self.parse(path, KnowledgeFile)
        if not parsed:
            return
        doc, model = parsed
        for i, entry in enumerate(model.entries):
            self.add("entry", self.kb.entries, entry, doc, ("entries", i))
        for i, response in enumerate(model.responses):
            self.add("response", self.kb.responses, response, doc, ("responses", i))
        for i, dialog in enumerate(model.dialogs):
            self.add("dialog", self.kb.dialogs, dialog, doc, ("dialogs", i))
        if model.tours is not None:
            self.kb.tours = model.tours
        if model.threads is not None:
            self.kb.threads = model.threads
        if model.splits is not None:
            self.kb.splits = model.splits
        self.kb.named.update(model.named)
        if model.follow_ups or model.named:
            self.threads.append((doc, model))
        self.kb.follow_ups += model.follow_ups
        for i, chart in enumerate(model.charts):
            self.add("chart", self.kb.charts, chart, doc, ("charts", i))

    def load_lexicon(self, path: Path) -> None:
        parsed = self.parse(path, LexiconFile)
        if parsed:
            self.kb.lexicon = parsed[1]

    def load_out_of_scope(self, path: Path) -> None:
        parsed = self.parse(path, OutOfScopeFile)
        if parsed:
            self.kb.out_of_scope = list(parsed[1].examples)

    def load_reminder_words(self, path: Path) -> None:
        parsed = self.parse(path, ReminderWordsFile)
        if parsed:
            self.kb.reminder_words = parsed[1]
            self.where[("file", REMINDER_WORDS)] = (parsed[0], ())

    def load_intents(self, path: Path) -> None:
        parsed = self.parse(path, IntentsFile)
        if parsed:
            doc, model = parsed
            for i, intent in enumerate(model.intents):
                self.add("intent", self.kb.intents, intent, doc, ("intents", i))

    def cross_check(self) -> None:
        kb = self.kb
        for entry in kb.entries.values():
            doc, loc = self.where[("entry", entry.id)]
            if not entry.sources:
                self.problem(doc, loc, f"entry '{entry.id}' has no source")
            self.check_sources(doc, (*loc, "sources"), entry.sources)
            for j, rel in enumerate(entry.related):
                if rel not in kb.entries:
                    self.problem(
                        doc, (*loc, "related", j), f"related entry '{rel}' does not exist"
                    )
                elif rel == entry.id:
                    self.problem(doc, (*loc, "related", j), f"entry '{rel}' relates to itself")
            seen: set[str] = set()
            for j, detail in enumerate(entry.details):
                if detail.id in seen:
                    self.problem(doc, (*loc, "details", j), f"duplicate detail id '{detail.id}'")
                seen.add(detail.id)
                self.check_sources(doc, (*loc, "details", j, "sources"), detail.sources)
        for response in kb.responses.values():
            doc, loc = self.where[("response", response.id)]
            for j, button in enumerate(response.buttons):
                self.check_target(doc, (*loc, "buttons", j), button.topic, button.dialog)
        for dialog in kb.dialogs.values():
            doc, loc = self.where[("dialog", dialog.id)]
            for sub, message in dialogcheck.problems(dialog, set(kb.entries), set(kb.dialogs)):
                self.problem(doc, (*loc, *sub), message)
        self.check_threads()
        self.check_charts()
        self.check_intents()
        self.check_reminder_words()
        if kb.sources:
            missing = [r for r in REQUIRED_RESPONSES if r not in kb.responses]
            if missing:
                path = self.data_dir / "knowledge" / "responses.yaml"
                self.problems.append(Problem(path, 1, f"missing responses: {', '.join(missing)}"))

    def check_threads(self) -> None:
        """The entries a follow-up rule or a named word points at exist."""
        for doc, model in self.threads:
            for i, follow_up in enumerate(model.follow_ups):
                for j, topic in enumerate(follow_up.after):
                    if topic not in self.kb.entries:
                        loc: Loc = ("follow_ups", i, "after", j)
                        self.problem(doc, loc, f"entry '{topic}' does not exist")
                if follow_up.answer not in self.kb.entries:
                    loc = ("follow_ups", i, "answer")
                    self.problem(doc, loc, f"entry '{follow_up.answer}' does not exist")
            for word, entry in model.named.items():
                if entry not in self.kb.entries:
                    self.problem(doc, ("named", word), f"entry '{entry}' does not exist")

    def check_reminder_words(self) -> None:
        words = self.kb.reminder_words
        if words is None:
            return
        doc, _ = self.where[("file", REMINDER_WORDS)]
        owner: dict[str, str] = {}
        for entry_id, names in words.credentials.items():
            if entry_id not in self.kb.entries:
                self.problem(doc, ("credentials", entry_id), f"entry '{entry_id}' does not exist")
            for j, name in enumerate(names):
                said = f"credential name '{name}' is claimed by"
                self.check_claim(owner, name, entry_id, doc, ("credentials", entry_id, j), said)

    def check_charts(self) -> None:
        illustrated: dict[str, str] = {}
        for chart in self.kb.charts.values():
            doc, loc = self.where[("chart", chart.id)]
            for sub, message in chartcheck.problems(chart, self.kb.entries, set(self.kb.sources)):
                self.problem(doc, (*loc, *sub), message)
            for j, entry_id in enumerate(chart.entries):
                said = f"entry '{entry_id}' is illustrated by charts"
                self.check_claim(illustrated, entry_id, chart.id, doc, (*loc, "entries", j), said)

    def check_claim(
        self, claims: dict[str, str], key: str, owner: str, doc: YamlDoc, loc: Loc, said: str
    ) -> None:
        """``key`` belongs to the first ``owner`` that claims it; another claim is a problem
        at ``loc``: "``said`` 'first' and 'owner'"."""
        first = claims.setdefault(key, owner)
        if first != owner:
            self.problem(doc, loc, f"{said} '{first}' and '{owner}'")

    def check_sources(self, doc: YamlDoc, loc: Loc, ids: list[str]) -> None:
        for j, source in enumerate(ids):
            if source not in self.kb.sources:
                self.problem(doc, (*loc, j), f"source '{source}' is not in sources.yaml")

    def check_target(self, doc: YamlDoc, loc: Loc, topic: str | None, dialog: str | None) -> None:
        if topic is not None and topic not in self.kb.entries:
            self.problem(doc, (*loc, "topic"), f"topic '{topic}' does not exist")
        if dialog is not None and dialog not in self.kb.dialogs:
            self.problem(doc, (*loc, "dialog"), f"dialog '{dialog}' does not exist")

    def check_intents(self) -> None:
        kb = self.kb
        claimed: dict[str, str] = {}
        for intent in kb.intents.values():
            doc, loc = self.where[("intent", intent.id)]
            if intent.answer is not None and intent.answer not in kb.entries:
                self.problem(doc, (*loc, "answer"), f"entry '{intent.answer}' does not exist")
            if intent.response is not None and intent.response not in kb.responses:
                self.problem(
                    doc, (*loc, "response"), f"response '{intent.response}' does not exist"
                )
            for j, example in enumerate(intent.examples):
                key = utils.default_process(example)
                said = f"example '{example}' is claimed by intents"
                self.check_claim(claimed, key, intent.id, doc, (*loc, "examples", j), said)


def _describe(err: Any) -> str:
    loc = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}'"
    if err["type"] == "missing":
        return f"missing field '{err['loc'][-1]}'"
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])

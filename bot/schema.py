"""Pydantic models for the YAML data: sources, knowledge entries, responses, dialogs, intents."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Ids travel in callback data (64 bytes) and logs: short, stable, readable.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=24)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3500)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Word = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")]


class Strict(BaseModel):
    """A model that rejects unknown keys, so a typo in YAML is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """One of the source documents an answer cites."""

    id: Id
    file: str
    title: str


class SourcesFile(Strict):
    """``knowledge/sources.yaml``."""

    version: Literal[1]
    sources: list[Source]


class Detail(Strict):
    """A piece of an entry that a short follow-up can ask for ("how do I keep it?")."""

    id: Id
    names: list[Word] = Field(min_length=1)
    answer: Text
    sources: list[Id] = []


class Entry(Strict):
    """A knowledge entry: one topic's answer with its sources and follow-ups."""

    id: Id
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    answer: Text
    more: Text | None = None
    details: list[Detail] = []
    sources: list[Id] = []
    related: list[Id] = []
    # the name a reminder's title uses; without it, the title up to its first comma or bracket
    # (set it where that would be an acronym the documents never write on its own)
    short: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
        | None
    ) = None


class Button(Strict):
    """A button in a response: a label and what pressing it does (``topic``, ``dialog``)."""

    label: Label
    topic: Id | None = None
    dialog: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Button:
        if (self.topic is None) == (self.dialog is None):
            raise ValueError("a button needs exactly one of topic or dialog")
        return self


class Response(Strict):
    """One of the bot's own replies (greeting, help, redirects): no source needed."""

    id: Id
    text: Text
    buttons: list[Button] = []


class Option(Strict):
    """A button of a dialog step: its value and the step it leads to (not on multi-choice)."""

    id: Id
    label: Label
    next: Id | None = None


class Range(Strict):
    """Maps a typed number below ``under`` (the last range: any number) to a slot value."""

    under: float | None = None
    value: Id


class Step(Strict):
    """A dialog step: buttons, typed input (``input``), or both (buttons as shortcuts).

    ``multi`` steps let the user toggle several options and go on with "Done". Answers are
    remembered in the user's profile unless ``remember`` is false.
    """

    id: Id
    ask: Text
    slot: Id
    options: list[Option] = []
    input: Literal["number", "date", "time", "text"] | None = None
    multi: bool = False
    remember: bool = True
    min: float = 0
    max: float = 100
    ranges: list[Range] = []
    invalid: Text | None = None
    next: Id | None = None

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.input is None and not self.options:
            raise ValueError("a step needs options (buttons) or an input")
        if self.input == "number" and (self.options or not self.ranges):
            raise ValueError("a number step needs ranges, and no options")
        if self.input not in (None, "number") and self.ranges:
            raise ValueError("only number steps have ranges")
        if (self.input is not None or self.multi) and self.next is None:
            raise ValueError("an input or multi-choice step needs next")
        if self.multi and (self.input is not None or not self.options):
            raise ValueError("a multi-choice step needs options and no input")
        if not self.multi and any(o.next is None for o in self.options):
            raise ValueError("every option needs next (only multi-choice options go on via Done)")
        return self


class Result(Strict):
    """A dialog's end: chosen when every slot in ``when`` has one of the listed values."""

    id: Id
    when: dict[Id, list[Id]] = {}
    text: Text
    entries: list[Id] = Field(min_length=1)


class Dialog(Strict):
    """A guided flow: steps that fill slots, then the first result whose conditions hold."""

    id: Id
    title: Label
    command: Id | None = None
    start: Id
    steps: list[Step] = Field(min_length=1)
    results: list[Result] = []
    action: Literal["reminder"] | None = None

    @model_validator(mode="after")
    def _ends(self) -> Dialog:
        if (self.action is None) == (not self.results):
            raise ValueError("a dialog ends in results or in an action (not both, not neither)")
        return self


class KnowledgeFile(Strict):
    """A ``knowledge/*.yaml`` file: entries, responses and dialogs."""

    version: Literal[1]
    entries: list[Entry] = []
    responses: list[Response] = []
    dialogs: list[Dialog] = []


class Intent(Strict):
    """An intent: example phrasings and the entry (or response) that answers them."""

    id: Id
    answer: Id | None = None
    response: Id | None = None
    examples: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        min_length=8
    )

    @model_validator(mode="after")
    def _one_target(self) -> Intent:
        if (self.answer is None) == (self.response is None):
            raise ValueError("an intent needs exactly one of answer or response")
        return self


class IntentsFile(Strict):
    """An ``intents/*.yaml`` file."""

    version: Literal[1]
    intents: list[Intent]


class OutOfScopeFile(Strict):
    """``intents/out_of_scope.yaml``: phrasings the bot must not answer (a learned class)."""

    version: Literal[1]
    examples: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        min_length=8
    )


class LexiconFile(Strict):
    """``intents/lexicon.yaml``: words shared by all intents."""

    version: Literal[1]
    synonyms: dict[str, list[str]] = {}
    field: list[str] = []
    stopwords: list[str] = []
    medical: list[str] = []
    places: list[str] = []
    occupations: list[str] = []
    roles: list[str] = []
    compare: list[str] = []  # words that make an unsure question a comparison ("fache vs cmm")
    whole_topic: list[str] = []  # words asking for a whole topic, not one detail ("both", "all")
    reminder_kinds: dict[Literal["exam", "renewal", "ceu"], list[str]] = {}  # in /remind titles

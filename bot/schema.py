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
    label: Label | None = None  # its name on a button, where the title is longer than one holds
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
    means: list[Word] = []  # words besides the label's by which a typed answer picks it


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
    # "tour": a "which tour?" dialog, whose options are the ids of the tours it starts
    action: Literal["reminder", "reminder_when", "reminder_rename", "tour"] | None = None
    asked_for: list[Word] = []  # topic words that, with a tour request word, start it typed

    @model_validator(mode="after")
    def _ends(self) -> Dialog:
        if (self.action is None) == (not self.results):
            raise ValueError("a dialog ends in results or in an action (not both, not neither)")
        return self


class TourWords(Strict):
    """How typed text steers a guided tour: asking for one, resuming it, stopping it.

    Each is a list of phrases, matched as whole words in the lowercased message.
    """

    requests: list[Text] = []  # "walk me through", "help me pick": with a tour's topic word
    resume: list[Text] = []  # "carry on": the current step asked again
    stop: list[Text] = []  # "never mind": the tour ends
    fillers: list[Word] = []  # words a resume or stop message may carry besides its phrase
    asides: list[Text] = []  # lead-ins of a question typed mid-tour: "wait", "quick question"
    yes: list[Text] = []  # a typed yes ("yep"): picks the option whose label opens with "Yes"
    no: list[Text] = []  # a typed no ("I don't", "never"): the option opening with "No"
    unsure: list[Text] = []  # "not sure", "dunno": neither
    ordinals: list[Word] = []  # "first", "second"...: a short answer picking an option by place
    # words of a request naming no tour ("give me a tour", "what tours do you have"): besides
    # its request phrase and the fillers, only these, so it opens the "which tour?" dialog
    menu: list[Word] = []


class FollowUp(Strict):
    """Where an entity named alone leads after a topic ("and in ohio?" after licensing)."""

    kind: Literal["state"]
    after: list[Id] = Field(min_length=1)  # the topics it follows
    answer: Id  # the entry answering it (its detail named by the entity, if one is)
    note: Text | None = None  # said first; ``$state`` is the entity as the user wrote it


class ThreadWords(Strict):
    """Words of a follow-up that carry no topic: "and", "what about", "then"."""

    fillers: list[Word] = []  # may stand beside an entity named alone ("and in ohio?")
    openers: list[Text] = []  # phrases opening a continuation ("and for", "what about")
    pointers: list[Word] = []  # words pointing back at the topic in play ("it", "that one")
    things: list[Word] = []  # the pointers at a thing (a credential), not at people ("they")
    kinds: dict[str, Word] = {}  # an entry id prefix -> the entity kind its answer puts in play
    detail_kinds: dict[Id, Word] = {}  # an entry -> the entity kind its details are (a level)
    aspects: dict[Id, Id] = {}  # a topic about every credential -> the detail it is of each one


class SplitWords(Strict):
    """Where a message holds two questions: a joiner word before a question word."""

    question_words: list[Word] = []
    joiners: list[Word] = []


Measure = Literal["median", "average", "level", "range", "years", "step"]


class ChartValue(Strict):
    """One value of a chart: what it is (``what``), its number(s), and the source it comes from.

    A bar has ``value`` (a range: ``low`` and ``high``); a ladder tier has ``low`` and ``high``
    years (no ``high``: open-ended, "15+"); a flow step has no number. ``quote`` is the entry's
    own words that the value stands for (ladders draw it under the tier); ``check`` finds it, and
    every number, in the text of each entry the chart illustrates.
    """

    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70)]
    what: Measure
    source: Id
    value: float | None = None
    low: float | None = None
    high: float | None = None
    year: int | None = None
    quote: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    reference: bool = False  # drawn as a line across the bars (a national median), not a bar
    optional: bool = False  # a flow step only some places add

    @model_validator(mode="after")
    def _numbers(self) -> ChartValue:
        ranged = self.low is not None or self.high is not None
        if self.what == "step" and (self.value is not None or ranged or self.year is not None):
            raise ValueError("a flow step has no numbers")
        if self.what == "range" and (self.low is None or self.high is None or self.value):
            raise ValueError("a range needs low and high (and no value)")
        if self.what == "years" and (self.low is None or self.value is not None):
            raise ValueError("a ladder tier needs low (and high unless open-ended), no value")
        if self.what in ("median", "average", "level") and (self.value is None or ranged):
            raise ValueError(f"a {self.what} needs value (and no low/high)")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("low must be below high")
        return self


class Chart(Strict):
    """A picture of numbers (or steps) that the entries it illustrates already state."""

    id: Id
    kind: Literal["bar", "ladder", "flow"]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=90)]
    entries: list[Id] = Field(min_length=1)
    values: list[ChartValue] = Field(min_length=2)
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)] | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Chart:
        allowed = {
            "bar": {"median", "average", "level", "range"},
            "ladder": {"years"},
            "flow": {"step"},
        }[self.kind]
        for value in self.values:
            if value.what not in allowed:
                raise ValueError(f"a {self.kind} chart has no '{value.what}' values")
            if value.reference and self.kind != "bar":
                raise ValueError("only bar charts have reference lines")
            if self.kind != "bar" and value.quote is None:
                raise ValueError(f"every value of a {self.kind} chart needs a quote")
        return self


class KnowledgeFile(Strict):
    """A ``knowledge/*.yaml`` file: entries, responses, dialogs and charts."""

    version: Literal[1]
    entries: list[Entry] = []
    responses: list[Response] = []
    dialogs: list[Dialog] = []
    tours: TourWords | None = None
    follow_ups: list[FollowUp] = []
    threads: ThreadWords | None = None
    splits: SplitWords | None = None
    named: dict[Word, Id] = {}  # a word naming an entry outright ("cphq"), for comparisons
    charts: list[Chart] = []


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
    # what the semantic model reads for a texting shorthand or acronym it does not know ("hsm")
    spelled_out: dict[str, list[str]] = {}


Phrase = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+( [a-z0-9]+)*$", max_length=80)]


class ReminderWordsFile(Strict):
    """``intents/reminder_words.yaml``: the words that make and fill a reminder request."""

    version: Literal[1]
    triggers: list[Phrase] = Field(min_length=1)
    weak_triggers: list[Phrase] = []
    question_after_trigger: list[Phrase] = []
    when_needs: list[Phrase] = []
    question_starts: list[Phrase] = []
    polite_starts: list[Phrase] = []
    not_requests: list[Phrase] = []
    manage_verbs: list[Phrase] = []
    determiners: list[Phrase] = []
    weak_date_words: list[Phrase] = []
    kinds: dict[Literal["exam", "renewal", "ceu"], list[Phrase]] = {}
    repeats: dict[Literal["yearly", "monthly"], list[Phrase]] = {}
    credentials: dict[Id, list[Phrase]] = {}  # knowledge entry id -> the names people type
    title_edges: list[Phrase] = []
    never_corrected: list[Phrase] = []  # real words a typo fix must not turn into others

"""Reply objects the engine returns and channels render: text, buttons, sources."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.notifications import Notification

MAX_MESSAGE = 4096  # Telegram's limit for one message
MAX_CALLBACK = 64  # Telegram's limit for callback data, in bytes
MAX_LABEL = 40


@dataclass(frozen=True)
class Button:
    """A button: what it says and the data it sends back when pressed."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_CALLBACK:
            raise ValueError(f"callback data over {MAX_CALLBACK} bytes: {self.data!r}")


@dataclass
class Reply:
    """One message: an optional bold title, the body, its sources and its buttons.

    ``image`` names a chart (``knowledge/charts.yaml``) that goes with the message; channels
    draw it (``bot.charts.Pictures``) and send it after the text. A reply with an image and no
    text is the picture alone.
    """

    text: str
    title: str | None = None
    sources: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    image: str | None = None

    def plain(self) -> str:
        """The message as plain text, as a user would read it."""
        parts = [p for p in (self.title, self.text) if p]
        body = "\n".join(parts)
        if self.sources:
            body += "\n\nSources: " + "; ".join(self.sources)
        return body


@dataclass
class Turn:
    """What the engine did with one message: the replies plus how it understood the message."""

    replies: list[Reply]
    intent: str | None = None
    score: float = 0.0
    matched: bool = False
    suggestions: list[str] = field(default_factory=list)
    forgotten: bool = False  # the user's data was just deleted: nothing of theirs is saved again
    owed: int | None = None  # the outbox row holding these replies until they are delivered
    notifications: list[Notification] = field(default_factory=list)  # new ones, to schedule

    @property
    def sources(self) -> list[str]:
        """Every source named by the replies, without repeats."""
        return list(dict.fromkeys(s for r in self.replies for s in r.sources))

    @property
    def images(self) -> list[str]:
        """The charts the replies come with, in order."""
        return [r.image for r in self.replies if r.image]

    @property
    def buttons(self) -> list[Button]:
        """Every button offered, in order."""
        return [b for r in self.replies for b in r.buttons]

    def plain(self) -> str:
        """All replies as plain text, separated by a blank line."""
        return "\n\n".join(r.plain() for r in self.replies)


def short(label: str, limit: int = MAX_LABEL) -> str:
    """Cut a button label to ``limit`` characters at a word boundary."""
    if len(label) <= limit:
        return label
    cut = label[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:(-")
    return cut + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (from undecodable bytes or a broken escape) as U+FFFD,
    so that it can be stored, matched and printed as UTF-8 like any other text."""
    return _SURROGATE.sub("\ufffd", text)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji is usually two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, at paragraph breaks first."""
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fits = _fitting_chars(rest, limit)
        cut = rest.rfind("\n\n", 0, fits)
        if cut <= 0:
            cut = rest.rfind("\n", 0, fits)
        if cut <= 0:
            cut = rest.rfind(" ", 0, fits)
        if cut <= 0:
            cut = fits
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _fitting_chars(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def dump_replies(replies: list[Reply]) -> str:
    """Replies as JSON, for the outbox."""
    return json.dumps([asdict(r) for r in replies], ensure_ascii=False)


def load_replies(data: str) -> list[Reply]:
    """Replies back from :func:`dump_replies`' JSON."""
    loaded: list[dict[str, Any]] = json.loads(data)
    return [
        Reply(
            r["text"],
            r.get("title"),
            list(r.get("sources", [])),
            [Button(b["label"], b["data"]) for b in r.get("buttons", [])],
            r.get("image"),
        )
        for r in loaded
    ]

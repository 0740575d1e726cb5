"""The bot's replies built from the knowledge: its own responses and the entries' answers."""

from __future__ import annotations

from string import Template

from bot.buttons import Feedback, More, Picture, StartDialog, Topic
from bot.charts import chart_of, cited
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, short
from bot.schema import Detail, Entry

MAX_RELATED = 4
PICTURE = "Show as picture"


class Texts:
    """Builds replies from ``kb``: responses by id, and entry answers with their buttons."""

    def __init__(self, kb: Knowledge) -> None:
        """Word replies from ``kb``."""
        self.kb = kb

    def response(self, response_id: str, **values: str) -> Reply:
        """One of the bot's own replies, with ``$name`` placeholders filled in."""
        response = self.kb.responses[response_id]
        buttons = [
            Button(
                b.label,
                Topic(entry=b.topic).pack() if b.topic else StartDialog(dialog=b.dialog).pack(),
            )
            for b in response.buttons
        ]
        return Reply(Template(response.text).safe_substitute(values), buttons=buttons)

    def entry(self, entry: Entry, detail: Detail | None = None) -> Reply:
        """An entry's answer (or one detail of it), its sources and the buttons to go on; the
        main answer of an entry a chart illustrates comes with that chart."""
        buttons: list[Button] = []
        if detail:
            text, sources = detail.answer, detail.sources or entry.sources
            buttons.append(Button(short(f"More on {entry.title}"), topic(entry.id)))
        else:
            text, sources = entry.answer, entry.sources
            if entry.more:
                buttons.append(Button("Tell me more", More(entry=entry.id).pack()))
        chart = chart_of(self.kb, entry.id)
        return Reply(
            text,
            title=entry.title,
            sources=self.kb.cite(sources),
            buttons=buttons + self._related(entry) + self._picture(entry) + _feedback(entry),
            image=chart.id if chart and detail is None else None,
        )

    def more(self, entry: Entry) -> Reply:
        """An entry's longer answer."""
        return Reply(
            entry.more or entry.answer,
            title=entry.title,
            sources=self.kb.cite(entry.sources),
            buttons=self._related(entry) + self._picture(entry) + _feedback(entry),
        )

    def picture(self, chart_id: str) -> Reply | None:
        """A chart alone, as a "Show as picture" press gets it (the caption names the sources);
        None for a chart that does not exist (a stale or forged button)."""
        chart = self.kb.charts.get(chart_id)
        if chart is None:
            return None
        return Reply("", title=chart.title, sources=cited(self.kb, chart), image=chart.id)

    def _related(self, entry: Entry) -> list[Button]:
        related = [self.kb.entries[r] for r in entry.related[:MAX_RELATED] if r in self.kb.entries]
        return [topic_button(e) for e in related]

    def _picture(self, entry: Entry) -> list[Button]:
        """The "Show as picture" button, on every reply about an entry a chart illustrates."""
        chart = chart_of(self.kb, entry.id)
        return [Button(PICTURE, Picture(chart=chart.id).pack())] if chart else []


def topic_button(entry: Entry) -> Button:
    """A button showing ``entry``, labelled with its button name or else its title (cut to fit
    at a word)."""
    return Button(entry.label or short(entry.title), topic(entry.id))


def topic(entry_id: str) -> str:
    """The data of a button showing an entry."""
    return Topic(entry=entry_id).pack()


def _feedback(entry: Entry) -> list[Button]:
    return [
        Button("👍 Helpful", Feedback(entry=entry.id, helpful=True).pack()),
        Button("👎 Not helpful", Feedback(entry=entry.id, helpful=False).pack()),
    ]

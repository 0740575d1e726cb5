"""Static checks of a chart against the entries it illustrates: a picture never shows a number
(or a step) that its text answer does not."""

from __future__ import annotations

import re

from bot.schema import Chart, Entry

Loc = tuple[int | str, ...]
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> set[float]:
    """Every number written in ``text`` ("$101,340" -> 101340.0, "0-3" -> 0.0 and 3.0)."""
    return {float(n.replace(",", "").rstrip(",")) for n in NUMBER.findall(text)}


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def problems(chart: Chart, entries: dict[str, Entry], sources: set[str]) -> list[tuple[Loc, str]]:
    """What is wrong with ``chart`` (location inside the chart, message); empty when honest."""
    found: list[tuple[Loc, str]] = []
    illustrated: list[Entry] = []
    for j, entry_id in enumerate(chart.entries):
        entry = entries.get(entry_id)
        if entry is None:
            found.append((("entries", j), f"entry '{entry_id}' does not exist"))
        else:
            illustrated.append(entry)
    for label, text in (("title", chart.title), ("note", chart.note or "")):
        for number in sorted(numbers_in(text)):
            for entry in illustrated:
                if number not in numbers_in(entry.answer):
                    found.append(((label,), _missing(chart, number, entry)))
    for i, value in enumerate(chart.values):
        at: Loc = ("values", i)
        if value.source not in sources:
            found.append(((*at, "source"), f"source '{value.source}' is not in sources.yaml"))
        for entry in illustrated:
            if value.source not in entry.sources:
                found.append(
                    (
                        (*at, "source"),
                        f"chart '{chart.id}' cites '{value.source}', "
                        f"which entry '{entry.id}' does not",
                    )
                )
            stated = numbers_in(entry.answer)
            shown = {
                field: number
                for field, number in (
                    ("value", value.value),
                    ("low", value.low),
                    ("high", value.high),
                    ("year", value.year),
                )
                if number is not None
            }
            shown |= {f"label {n:g}": n for n in numbers_in(value.label)}
            for field, number in shown.items():
                if float(number) not in stated:
                    where = field if field in ("value", "low", "high", "year") else "label"
                    found.append(((*at, where), _missing(chart, float(number), entry)))
            if value.quote is not None and _words(value.quote) not in _words(entry.answer):
                found.append(
                    (
                        (*at, "quote"),
                        f"chart '{chart.id}': '{value.quote}' is not in the answer of "
                        f"entry '{entry.id}'",
                    )
                )
    return found


def _missing(chart: Chart, number: float, entry: Entry) -> str:
    return (
        f"chart '{chart.id}' shows {number:,.10g}, which the answer of entry '{entry.id}' "
        "does not state"
    )

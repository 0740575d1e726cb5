"""Charts: pictures of the numbers the knowledge entries state (``knowledge/charts.yaml``).

The core side, free of matplotlib and of any channel: which chart illustrates an entry, its
caption and its words, and :class:`Pictures`, which draws a chart to a PNG once per
content hash (in a cache folder next to the database) and remembers a chart that cannot be
drawn, so its failure is logged once and the text answer goes out without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from bot.knowledge import Knowledge
from bot.schema import Chart

log = logging.getLogger(__name__)

MAX_CAPTION = 1024  # Telegram's limit for a photo caption
_DRAWER = Path(__file__).with_name("draw.py")  # its code is part of every picture's hash


def chart_of(kb: Knowledge, entry_id: str) -> Chart | None:
    """The chart that illustrates an entry, if any (``check`` allows at most one)."""
    return next((c for c in kb.charts.values() if entry_id in c.entries), None)


def cited(kb: Knowledge, chart: Chart) -> list[str]:
    """The titles of the sources a chart's values come from, without repeats."""
    return kb.cite([v.source for v in chart.values])


def caption(kb: Knowledge, chart_id: str) -> str:
    """The photo's caption: title, note and sources, within Telegram's 1,024 characters."""
    chart = kb.charts[chart_id]
    parts = [chart.title, chart.note or "", "Sources: " + "; ".join(cited(kb, chart))]
    text = "\n\n".join(p for p in parts if p)
    return text if len(text) <= MAX_CAPTION else text[: MAX_CAPTION - 1].rstrip() + "…"


def describe(kb: Knowledge, chart_id: str) -> str:
    """The chart in words (for a picture that cannot be drawn, and for screen readers)."""
    chart = kb.charts[chart_id]
    lines = [chart.title]
    for value in chart.values:
        if value.what == "step":
            lines.append(f"• {value.label}")
            continue
        if value.what == "years":
            span = f"{value.low:g}+" if value.high is None else f"{value.low:g}-{value.high:g}"
            lines.append(f"• {value.label}: {span} years")
            continue
        if value.what == "range":
            number = f"${value.low:,.0f} to ${value.high:,.0f}"
        else:
            number = f"${value.value:,.0f}"
        year = f", {value.year}" if value.year else ""
        lines.append(f"• {value.label} ({value.what}{year}): {number}")
    if chart.note:
        lines.append(chart.note)
    return "\n".join(lines)


def cache_folder(db_path: Path | str) -> Path:
    """Where drawn charts are kept: ``charts/`` beside the database file (in the user's data
    directory for ``ask``'s in-memory store and for a PostgreSQL store)."""
    # an in-memory store, or a PostgreSQL server (no folder of its own): the default data folder
    if str(db_path) == ":memory:" or str(db_path).startswith(("postgresql:", "postgres:")):
        from bot.config import default_db_path

        db_path = default_db_path()
    return Path(db_path).parent / "charts"


class Pictures:
    """Draws charts to PNG files, once per content hash, in a cache folder."""

    def __init__(self, kb: Knowledge, folder: Path) -> None:
        """Serve the charts of ``kb`` from (and into) ``folder``."""
        self.kb = kb
        self.folder = folder
        self._lock = threading.Lock()  # matplotlib draws one figure at a time
        self._broken: set[str] = set()  # content hashes that failed: logged once, not redrawn

    def key(self, chart_id: str) -> str:
        """The content hash of a chart: its data, the titles it cites and the drawing code."""
        chart = self.kb.charts[chart_id]
        digest = hashlib.sha256()
        digest.update(json.dumps(chart.model_dump(), sort_keys=True).encode())
        digest.update(json.dumps(cited(self.kb, chart)).encode())
        digest.update(_DRAWER.read_bytes())
        return digest.hexdigest()[:20]

    def path(self, chart_id: str) -> Path | None:
        """The PNG of a chart, drawn now if this content has not been drawn before; None when
        there is no such chart or it cannot be drawn (logged the first time only)."""
        if chart_id not in self.kb.charts:
            return None
        key = self.key(chart_id)
        target = self.folder / f"{chart_id}-{key}.png"
        if target.exists():
            return target
        if key in self._broken:
            return None
        with self._lock:
            if target.exists():
                return target
            try:
                self._draw(chart_id, target)
            except Exception as exc:  # a picture is never worth losing the answer over
                self._broken.add(key)
                log.error("chart %s could not be drawn: %r", chart_id, exc)
                return None
        return target

    def _draw(self, chart_id: str, target: Path) -> None:
        from bot.charts import draw  # matplotlib: only when a picture is first needed

        chart = self.kb.charts[chart_id]
        titles = {s: self.kb.sources[s].title for s in {v.source for v in chart.values}}
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            draw.render(chart, titles, partial)
            os.replace(partial, target)  # atomic: another process never sees half a file
        finally:
            partial.unlink(missing_ok=True)
        for old in self.folder.glob(f"{chart_id}-*.png"):  # earlier versions of this chart
            if old != target:
                old.unlink(missing_ok=True)

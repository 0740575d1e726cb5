"""Draw a chart to PNG with matplotlib (Agg, no display), sized and lettered for a phone.

Imported only when a picture is first drawn (``bot.charts.Pictures``), so start-up never pays
for matplotlib. The object API (``Figure`` + ``FigureCanvasAgg``) keeps no global state.
Colours are Okabe-Ito's colour-blind-safe palette, and every distinction that colour makes is
also made by a line style, a hatch or a label.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import MaxNLocator

from bot.schema import Chart, ChartValue

WIDTH_IN = 8.0
DPI = 150  # 8 in x 150 dpi = 1,200 px wide
TITLE_PT, LABEL_PT, SMALL_PT = 21, 16, 13
# Okabe & Ito (2008): told apart with every common colour-vision deficiency
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
LINE_STYLES = ["--", ":", "-."]
WRAP_TITLE, WRAP_SMALL = 44, 78  # characters a line at TITLE_PT / SMALL_PT on 1,200 px
LINE_IN = {TITLE_PT: 0.40, LABEL_PT: 0.30, SMALL_PT: 0.25}  # line height per size, inches


def render(chart: Chart, source_titles: dict[str, str], path: Path) -> None:
    """Write ``chart`` as a PNG to ``path``; the sources go under it, by their titles."""
    colours = _colours(chart)
    title = textwrap.wrap(chart.title, WRAP_TITLE)
    footer = _footer(chart, source_titles, colours)
    body_in = {"bar": _bar_height, "ladder": _ladder_height, "flow": _flow_height}[chart.kind](
        chart
    )
    top_in = 0.25 + LINE_IN[TITLE_PT] * len(title)
    bottom_in = 0.35 + LINE_IN[SMALL_PT] * len(footer)
    height_in = top_in + body_in + bottom_in
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(
        0.04,
        1 - 0.2 / height_in,
        "\n".join(title),
        parse_math=False,
        fontsize=TITLE_PT,
        fontweight="bold",
        va="top",
        linespacing=1.15,
    )
    fig.text(
        0.04,
        0.15 / height_in,
        "\n".join(footer),
        fontsize=SMALL_PT,
        va="bottom",
        color="#333333",
        parse_math=False,
    )
    legend_in = _legend_height(chart) if chart.kind == "bar" else 0.0
    margin_bottom = bottom_in + legend_in + (0.55 if chart.kind != "flow" else 0.1)
    box = [0.04, margin_bottom / height_in, 0.92, (body_in - 0.55 - legend_in) / height_in]
    if chart.kind == "bar":
        box = [0.30, box[1], 0.64, box[3]]
    ax = fig.add_axes((box[0], box[1], box[2], box[3]))
    {"bar": _bar, "ladder": _ladder, "flow": _flow}[chart.kind](ax, chart, colours, source_titles)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")


def _colours(chart: Chart) -> dict[str, str]:
    """One colour per source, in the order the chart first cites them."""
    order = list(dict.fromkeys(v.source for v in chart.values))
    return {source: PALETTE[i % len(PALETTE)] for i, source in enumerate(order)}


def _footer(chart: Chart, titles: dict[str, str], colours: dict[str, str]) -> list[str]:
    lines: list[str] = []
    if chart.note:
        lines += textwrap.wrap(chart.note, WRAP_SMALL)
    cited = "; ".join(titles.get(s, s) for s in colours)
    lines += textwrap.wrap(f"Sources: {cited}", WRAP_SMALL)
    return lines


def money(number: float) -> str:
    """``101340`` -> ``$101,340`` (the dollar escaped: matplotlib reads ``$...$`` as maths)."""
    return f"\\${number:,.0f}"


def _what(value: ChartValue) -> str:
    """What a bar's number is, beside it: "average", "median (2021)"; a level's label says it."""
    if value.what in ("median", "average"):
        return value.what + (f" ({value.year})" if value.year else "")
    return ""


# --- bars -----------------------------------------------------------------------------------


def _bar_height(chart: Chart) -> float:
    bars = [v for v in chart.values if not v.reference]
    return 0.9 + 0.75 * len(bars) + _legend_height(chart)


def _legend_height(chart: Chart) -> float:
    """Room under a bar chart's axis for its reference lines' legend."""
    refs = [v for v in chart.values if v.reference]
    sources = {v.source for v in chart.values if not v.reference}
    return 0.15 + 0.36 * (len(refs) + len(sources)) if refs else 0.0


def _bar(ax: Axes, chart: Chart, colours: dict[str, str], titles: dict[str, str]) -> None:
    bars = [v for v in chart.values if not v.reference]
    refs = [v for v in chart.values if v.reference]
    top = max(max(v.high or v.value or 0 for v in chart.values), 1)
    positions = list(range(len(bars)))[::-1]
    plate = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2}
    for y, value in zip(positions, bars, strict=True):
        colour = colours[value.source]
        if value.what == "range":  # hatched and pale: a spread, not an amount
            low, high = value.low or 0, value.high or 0
            ax.barh(y, high - low, left=low, height=0.6, color=colour, alpha=0.35, hatch="//")
            text = f"{money(low)} to {money(high)}"
            ax.text(
                low + top * 0.02, y, text, va="center", fontsize=SMALL_PT, bbox=plate, zorder=4
            )
        else:
            number = value.value or 0
            ax.barh(y, number, height=0.6, color=colour)
            text = " ".join(p for p in (money(number), _what(value)) if p)
            ax.text(
                top * 0.02, y, text, va="center", fontsize=SMALL_PT, color="white", weight="bold"
            )
    for i, ref in enumerate(refs):
        number = ref.value or 0
        style = LINE_STYLES[i % len(LINE_STYLES)]
        name = ref.label if ref.what in ref.label.lower() else f"{ref.label} ({ref.what})"
        year = f"{ref.year}" if ref.year else "no year given"
        label = f"{name}, {year}: {money(number)}"
        ax.axvline(
            number, color=colours[ref.source], linestyle=style, linewidth=3, label=label, zorder=3
        )
    ax.set_yticks(positions, [textwrap.fill(v.label, 18) for v in bars], fontsize=LABEL_PT)
    ax.set_xlim(0, top * 1.08)  # bars start at zero: lengths compare honestly
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ticks = [t for t in ax.get_xticks() if 0 <= t <= top * 1.08]
    ax.set_xticks(ticks, [f"${t / 1000:,.0f}k" for t in ticks], fontsize=SMALL_PT)
    if chart.unit:
        ax.set_xlabel(chart.unit, fontsize=SMALL_PT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    bar_sources = dict.fromkeys(v.source for v in bars)
    handles = [Patch(color=colours[s], label=f"Bars: {titles.get(s, s)}") for s in bar_sources]
    lines, _ = ax.get_legend_handles_labels()
    if refs:
        ax.legend(
            handles=[*handles, *lines],
            loc="upper left",
            bbox_to_anchor=(-0.42, -0.16),
            fontsize=SMALL_PT,
            frameon=False,
            handlelength=3,
        )


# --- ladder ---------------------------------------------------------------------------------


def _ladder_height(chart: Chart) -> float:
    return 0.8 + 1.45 * len(chart.values)


def _ladder(ax: Axes, chart: Chart, colours: dict[str, str], titles: dict[str, str]) -> None:
    ends = [v.high or v.low or 0 for v in chart.values]
    span = max(ends) * 4 / 3
    rows = len(chart.values)
    for i, value in enumerate(chart.values):
        y = rows - 1 - i
        low = value.low or 0
        colour = colours[value.source]
        if value.high is None:  # open-ended ("15+"): a fading, hatched bar to the edge
            ax.barh(y, span - low, left=low, height=0.32, color=colour, alpha=0.45, hatch="//")
            years = f"{low:g}+ years"
        else:
            ax.barh(y, value.high - low, left=low, height=0.32, color=colour)
            years = f"{low:g} to {value.high:g} years"
        ax.text(0, y + 0.3, value.label, fontsize=LABEL_PT, fontweight="bold", va="bottom")
        ax.text(
            (value.high or span) + span * 0.01 if value.high else low - span * 0.01,
            y,
            years,
            fontsize=SMALL_PT,
            va="center",
            ha="left" if value.high else "right",
        )
        ax.text(0, y - 0.24, value.quote or "", fontsize=SMALL_PT, style="italic", va="top")
    ticks = sorted({v.low or 0 for v in chart.values} | {v.high for v in chart.values if v.high})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=SMALL_PT)
    ax.set_xlim(0, span)
    ax.set_ylim(-0.75, rows - 0.2)
    ax.set_yticks([])
    if chart.unit:
        ax.set_xlabel(chart.unit, fontsize=SMALL_PT)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


# --- flow -----------------------------------------------------------------------------------


def _flow_height(chart: Chart) -> float:
    main = [v for v in chart.values if not v.optional]
    return 0.6 + 1.25 * len(main)


def _flow(ax: Axes, chart: Chart, colours: dict[str, str], titles: dict[str, str]) -> None:
    main = [v for v in chart.values if not v.optional]
    extra = [v for v in chart.values if v.optional]
    rows = len(main)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, rows)
    ax.axis("off")
    colour = colours[main[0].source]
    centres: list[tuple[float, float]] = []
    for i, value in enumerate(main):
        y = rows - i - 0.5
        _box(ax, 0.02, y, 0.5, value.label, colour, dashed=False)
        centres.append((0.27, y))
        if i:
            ax.add_patch(
                FancyArrowPatch(
                    (0.27, y + 0.62),
                    (0.27, y + 0.36),
                    arrowstyle="-|>",
                    mutation_scale=24,
                    color="#333333",
                    linewidth=2,
                )
            )
    last = centres[-1]
    for j, value in enumerate(extra):
        y = last[1] + (len(extra) - 1 - j) * 1.05
        accent = PALETTE[1]
        _box(ax, 0.6, y, 0.38, value.label, accent, dashed=True)
        ax.add_patch(
            FancyArrowPatch(
                (0.6, y),
                (0.52, last[1]),
                arrowstyle="-|>",
                mutation_scale=20,
                color=accent,
                linewidth=2,
                linestyle="--",
            )
        )


def _box(ax: Axes, x: float, y: float, width: float, text: str, colour: str, dashed: bool) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x, y - 0.33),
            width,
            0.66,
            boxstyle="round,pad=0.01,rounding_size=0.05",
            facecolor="white" if dashed else colour + "30",
            edgecolor=colour,
            linewidth=2.5,
            linestyle="--" if dashed else "-",
        )
    )
    wrapped = textwrap.fill(text, 24 if width < 0.45 else 30)
    weight = "normal" if dashed else "bold"
    size = SMALL_PT if dashed else LABEL_PT
    ax.text(x + width / 2, y, wrapped, ha="center", va="center", fontsize=size, fontweight=weight)

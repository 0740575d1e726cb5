"""bot/dates.py against dateparser: start-up, memory, parse time, and what each reads right.

Each parser runs in a fresh interpreter (so import time and memory are its own) on the same
phrases, with today fixed at Wednesday 2 December 2026 in America/New_York. dateparser is
optional: without it installed (``pip install dateparser``), only bot/dates.py is measured.

    .venv/bin/python bench/date_parsers.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 12, 2)
ZONE = "America/New_York"
# (what people type, the date it means, or (year, month) for a month whose day is still to ask)
PHRASES: list[tuple[str, dt.date | tuple[int, int]]] = [
    ("14 March", dt.date(2027, 3, 14)),
    ("3/14", dt.date(2027, 3, 14)),
    ("2027-03-14", dt.date(2027, 3, 14)),
    ("March 14 at 9am", dt.date(2027, 3, 14)),
    ("march 14th 2027", dt.date(2027, 3, 14)),
    ("14.03.2027", dt.date(2027, 3, 14)),
    ("febuary 3", dt.date(2027, 2, 3)),
    ("in 3 weeks", dt.date(2026, 12, 23)),
    ("in two weeks", dt.date(2026, 12, 16)),
    ("next Friday", dt.date(2026, 12, 4)),
    ("friday", dt.date(2026, 12, 4)),
    ("tomorrow morning", dt.date(2026, 12, 3)),
    ("tmrw", dt.date(2026, 12, 3)),
    ("end of the month", dt.date(2026, 12, 31)),
    ("end of the year", dt.date(2026, 12, 31)),
    ("end of june", dt.date(2027, 6, 30)),
    ("the 14th", dt.date(2026, 12, 14)),
    ("next June", (2027, 6)),
    ("june 2027", (2027, 6)),
    ("in 2 months", dt.date(2027, 2, 2)),
]


def run_one(parser: str, rounds: int) -> dict[str, object]:
    """Import and run one parser in this process; return its numbers."""
    rss_start = _vm("VmRSS")
    started = time.perf_counter()
    if parser == "dates":
        sys.path.insert(0, str(ROOT))
        from bot import dates

        def parse(text: str) -> dt.date | tuple[int, int] | None:
            try:
                found = dates.read_date(text, TODAY)
            except dates.DateError:
                return None
            if isinstance(found, dates.MonthOnly):
                return (found.year, found.month)
            return found.date

    else:
        import dateparser

        settings = {
            "RELATIVE_BASE": dt.datetime.combine(TODAY, dt.time(10, 0)),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "MDY",
            "TIMEZONE": ZONE,
            "RETURN_AS_TIMEZONE_AWARE": False,
        }

        def parse(text: str) -> dt.date | tuple[int, int] | None:
            found = dateparser.parse(text, languages=["en"], settings=settings)  # type: ignore[arg-type]
            return None if found is None else found.date()

    imported = time.perf_counter()
    rss_imported = _vm("VmRSS")
    first = parse(PHRASES[0][0])
    first_ms = (time.perf_counter() - imported) * 1000
    right = [text for text, expected in PHRASES if parse(text) == expected]
    del first
    started_loop = time.perf_counter()
    for _ in range(rounds):
        for text, _expected in PHRASES:
            parse(text)
    per_parse_us = (time.perf_counter() - started_loop) / (rounds * len(PHRASES)) * 1e6
    return {
        "parser": parser,
        "import_ms": (imported - started) * 1000,
        "first_parse_ms": first_ms,
        "per_parse_us": per_parse_us,
        "rss_import_mb": (rss_imported - rss_start) / 1024,
        "peak_mb": _vm("VmHWM") / 1024,
        "right": len(right),
        "wrong": [text for text, _ in PHRASES if text not in right],
    }


def reader_cost(rounds: int) -> dict[str, float]:
    """Microseconds per message of RequestReader.read, for requests and for other messages."""
    sys.path.insert(0, str(ROOT))
    from zoneinfo import ZoneInfo

    from bot.knowledge import load
    from bot.reminders.request import RequestReader

    words = load().reminder_words
    assert words is not None
    reader = RequestReader(words)
    zone = ZoneInfo(ZONE)
    now = dt.datetime.combine(TODAY, dt.time(10, 0), zone)
    requests = [f"remind me about my cmm exam {text}" for text, _ in PHRASES]
    others = [
        "how long is FACHE valid",
        "what does renewing the CPHQ involve",
        "how do i become a nursing home administrator and what does it pay in delaware",
        "salry?",
    ]
    cost = {}
    for name, texts in (("request", requests), ("other", others)):
        started = time.perf_counter()
        for _ in range(rounds):
            for text in texts:
                reader.read(text, zone, now)
        cost[name] = (time.perf_counter() - started) / (rounds * len(texts)) * 1e6
    return cost


def _vm(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    """Run each parser in its own interpreter and print one table."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--rounds", type=int, default=20)
    args.add_argument("--one", choices=("dates", "dateparser", "reader"), help=argparse.SUPPRESS)
    opts = args.parse_args()
    if opts.one == "reader":
        print(json.dumps(reader_cost(opts.rounds)))
        return
    if opts.one:
        print(json.dumps(run_one(opts.one, opts.rounds)))
        return
    rows = []
    for parser in ("dates", "dateparser"):
        done = subprocess.run(
            [sys.executable, __file__, "--one", parser, "--rounds", str(opts.rounds)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            print(f"{parser}: not measured ({done.stderr.strip().splitlines()[-1]})")
            continue
        rows.append(json.loads(done.stdout))
    print(
        "| parser | import ms | first parse ms | per parse µs | RSS added by import MB "
        f"| peak RSS MB | read right (of {len(PHRASES)}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['parser']} | {row['import_ms']:.0f} | {row['first_parse_ms']:.1f} "
            f"| {row['per_parse_us']:.0f} | {row['rss_import_mb']:.1f} | {row['peak_mb']:.1f} "
            f"| {row['right']} |"
        )
    for row in rows:
        print(f"{row['parser']} misread: {', '.join(map(repr, row['wrong'])) or 'none'}")
    done = subprocess.run(
        [sys.executable, __file__, "--one", "reader", "--rounds", str(opts.rounds)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    cost = json.loads(done.stdout)
    print(
        f"RequestReader.read: {cost['request']:.0f} µs per reminder request, "
        f"{cost['other']:.0f} µs per other message"
    )


if __name__ == "__main__":
    main()

"""What charts cost: matplotlib's import, the drawing time and PNG size of each chart, and the
memory of the real ``python -m bot run`` before and after it draws pictures.

Run: .venv/bin/python bench/charts.py   (about a minute; numbers go in bench/README.md)
Drawing runs in a child process per repeat, so every first draw pays the import as `run` does.
The `run` part talks to the Bot API stand-in on 127.0.0.1 only and removes its temporary files.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    BotApiStandIn,
    PollWatch,
    running_bot,
    stop_process,
    table,
    vm_status,
)

REPEATS = 3
NO_CHART = "what is fache"
CHART_QUESTIONS = {  # one question per chart, as a user would ask
    "pay_medians": "salary?",
    "pay_levels": "salary range by level",
    "pay_states": "which states pay the most",
    "career_ladder": "what are the career levels",
    "nha_road": "nursing home administrator license",
}


def draw_child(folder: str) -> None:
    """In a child process: time matplotlib's import, then each chart's first and second draw."""
    from bot.charts import Pictures
    from bot.knowledge import load

    kb = load()
    start = time.perf_counter()
    from bot.charts import draw  # noqa: F401  # matplotlib, as the first picture imports it

    result: dict[str, object] = {"import_s": time.perf_counter() - start, "charts": {}}
    pictures = Pictures(kb, Path(folder))
    for chart_id in kb.charts:
        start = time.perf_counter()
        path = pictures.path(chart_id)
        drawn = time.perf_counter() - start
        start = time.perf_counter()
        pictures.path(chart_id)  # from the cache: the hash and a stat
        cached = time.perf_counter() - start
        assert path is not None, chart_id
        from PIL import Image

        with Image.open(path) as image:
            size = image.size
        result["charts"][chart_id] = {  # type: ignore[index]
            "draw_s": drawn,
            "cached_s": cached,
            "bytes": path.stat().st_size,
            "px": size,
        }
    print(json.dumps(result))


def drawing() -> None:
    """Print the drawing table: medians over REPEATS fresh processes and empty cache folders."""
    runs = []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as folder:
            out = subprocess.run(
                [sys.executable, __file__, "--draw", folder],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            runs.append(json.loads(out))
    imports = statistics.median(r["import_s"] for r in runs)
    print(f"matplotlib import (first picture only): median {imports * 1e3:.0f} ms\n")
    rows = []
    for chart_id, first in runs[0]["charts"].items():
        draws = [r["charts"][chart_id]["draw_s"] * 1e3 for r in runs]
        cached = [r["charts"][chart_id]["cached_s"] * 1e3 for r in runs]
        w, h = first["px"]
        rows.append(
            [
                chart_id,
                statistics.median(draws),
                max(draws),
                f"{statistics.median(cached):.2f}",
                f"{first['bytes'] / 1024:.0f}",
                f"{w}x{h}",
            ]
        )
    print(table(["chart", "draw ms", "max ms", "cached ms", "PNG KB", "pixels"], rows))


async def memory() -> None:
    """RSS of `run`: started and answering text, then after each chart is drawn and sent."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with (
            BotApiStandIn() as api,
            running_bot(api, PollWatch(api), folder / "bot.db", folder) as (proc, _),
        ):
            rows = []
            user = 7000

            async def ask(text: str, photo: bool) -> float:
                nonlocal user
                user += 1
                start = len(api.sent)
                t = time.monotonic()
                api.text_message(user, text)
                method = "sendPhoto" if photo else "sendMessage"
                await api.wait_for(method=method, chat_id=user, start=start, timeout=120)
                return (time.monotonic() - t) * 1e3

            for _ in range(3):
                await ask(NO_CHART, photo=False)
            status = vm_status(proc.pid)
            rows.append(["text answers only", "", status["VmRSS"] / 1024, ""])
            for chart_id, question in CHART_QUESTIONS.items():
                first = await ask(question, photo=True)
                again = await ask(question, photo=True)  # another user: the stored file_id
                status = vm_status(proc.pid)
                rows.append(
                    [
                        f"+ {chart_id}",
                        f"{first:.0f} / {again:.0f}",
                        status["VmRSS"] / 1024,
                        status["VmHWM"] / 1024,
                    ]
                )
            await stop_process(proc)
    print(
        "\n`python -m bot run` against the stand-in (answer to sendPhoto received, ms: first "
        "user, who waits for the drawing and upload / the next user, sent by file_id)\n"
    )
    print(table(["after", "photo ms first / next", "VmRSS MB", "VmHWM MB"], rows))


def main() -> None:
    """Print both tables."""
    load = os.getloadavg()[0]
    version = sys.version.split()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}, python {version}")
    drawing()
    asyncio.run(memory())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--draw"]:
        draw_child(sys.argv[2])
    else:
        main()

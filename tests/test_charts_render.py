"""Drawing charts: valid PNGs within Telegram's photo limits, drawn once per content, matplotlib
imported only when a picture is first drawn, and a chart that cannot be drawn logged once."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from botprocess import bare_env
from PIL import Image

from bot.charts import Pictures
from bot.knowledge import Knowledge, load

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's sendPhoto limits
MAX_SIDES = 10_000
MAX_RATIO = 20


@pytest.fixture(scope="module")
def drawn(kb: Knowledge, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pictures = Pictures(kb, tmp_path_factory.mktemp("charts"))
    paths = {chart_id: pictures.path(chart_id) for chart_id in kb.charts}
    assert all(paths.values()), paths
    return {k: v for k, v in paths.items() if v}


def test_every_chart_is_a_png_telegram_accepts_and_a_phone_can_read(kb: Knowledge, drawn):
    assert set(drawn) == set(kb.charts) and len(drawn) >= 4
    for chart_id, path in drawn.items():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart_id
        with Image.open(path) as image:
            image.verify()  # a truncated or corrupt file raises
        with Image.open(path) as image:
            width, height = image.size
            colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
        assert path.stat().st_size <= MAX_PHOTO_BYTES, chart_id
        assert width + height <= MAX_SIDES and max(width, height) / min(width, height) <= MAX_RATIO
        assert width >= 1000, f"{chart_id}: {width} px is too narrow to read on a phone"
        assert len(colours) > 50, f"{chart_id} looks blank"  # text and shapes were drawn


def test_a_chart_is_drawn_once_per_content(kb: Knowledge, data_copy: Path, tmp_path, monkeypatch):
    from bot.charts import draw

    calls: list[str] = []
    real = draw.render
    monkeypatch.setattr(
        draw,
        "render",
        lambda chart, titles, path: (calls.append(chart.id), real(chart, titles, path)),
    )
    folder = tmp_path / "cache"
    first = Pictures(kb, folder).path("pay_states")
    again = Pictures(kb, folder).path("pay_states")  # a restarted process: same folder
    assert first is not None and first == again and calls == ["pay_states"]
    charts = data_copy / "knowledge" / "charts.yaml"
    charts.write_text(charts.read_text().replace("average salaries, beside", "averages, beside"))
    changed = Pictures(load(data_copy), folder).path("pay_states")
    assert changed is not None and changed != first and calls == ["pay_states", "pay_states"]
    assert not first.exists(), "the outdated picture of the chart is removed"
    assert sorted(p.name for p in folder.iterdir()) == [changed.name]


def test_a_chart_that_cannot_be_drawn_is_logged_once(kb: Knowledge, tmp_path, monkeypatch, caplog):
    from bot.charts import draw

    def broken(*args: object) -> None:
        raise RuntimeError("findfont: no font found")

    monkeypatch.setattr(draw, "render", broken)
    pictures = Pictures(kb, tmp_path / "cache")
    with caplog.at_level(logging.ERROR, logger="bot.charts"):
        assert pictures.path("career_ladder") is None
        assert pictures.path("career_ladder") is None
    logged = [r for r in caplog.records if "career_ladder" in r.getMessage()]
    assert len(logged) == 1 and "no font" in logged[0].getMessage()
    assert not list((tmp_path / "cache").glob("*.png")) and not list(
        (tmp_path / "cache").glob("*.tmp")
    )


def test_start_up_does_not_import_matplotlib_until_a_picture_is_drawn(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from bot.config import Settings
        from bot.engine import Engine
        from bot.knowledge import load
        from bot.store import Store
        from bot.telegram.app import build_application
        from bot.charts import Pictures

        settings = Settings(token="123456:" + "A" * 35, db_path=Path({str(tmp_path / "x.db")!r}))
        engine = Engine(load(), Store(settings.db_path))
        build_application(settings, engine)
        engine.handle("u", "how much does a health services manager earn")
        print("before", "matplotlib" in sys.modules)
        Pictures(engine.kb, Path({str(tmp_path / "charts")!r})).path("pay_medians")
        print("after", "matplotlib" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=bare_env(tmp_path),
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["before", "False", "after", "True"]

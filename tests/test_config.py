"""The settings: the environment, a .env file under it, the documented names and defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, redact

TOKEN = "123456:" + "B" * 35


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TELEGRAM_/CAREERBOT_ variable from this shell, and a working directory of our own."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "CAREERBOT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = Settings.from_env()
    assert settings.token is None and settings.token_problem() is not None
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.db_path == tmp_path / "xdg" / "careerbot" / "careerbot.db"
    assert settings.port == 8443 and settings.webhook_listen == "127.0.0.1"
    assert settings.rate_limit == 30 and settings.log_level == "INFO"
    assert settings.admin_ids == frozenset() and settings.data_dir is None


def test_a_dotenv_file_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch):
    Path(".env").write_text(
        f'# comment\nexport TELEGRAM_BOT_TOKEN="{TOKEN}"\nCAREERBOT_ADMIN_IDS=1, 2\n'
        "CAREERBOT_PORT=9000\nCAREERBOT_DB=/tmp/from-dotenv.db\n"
    )
    monkeypatch.setenv("CAREERBOT_PORT", "8000")
    settings = Settings.from_env()
    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    assert settings.token_problem() is None
    assert TOKEN not in repr(settings), "the token is a secret, even in a repr"
    assert redact(f"url /bot{TOKEN}/getMe") == "url /bot[redacted]/getMe"
    assert settings.admin_ids == frozenset({1, 2})
    assert settings.port == 8000 and settings.db_path == Path("/tmp/from-dotenv.db")


def test_blank_values_are_unset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "  ")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "")
    monkeypatch.setenv("CAREERBOT_WEBHOOK_LISTEN", " ")
    settings = Settings.from_env()
    assert settings.token is None
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.webhook_listen == "127.0.0.1"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAREERBOT_ADMIN_IDS", "1,x", "CAREERBOT_ADMIN_IDS must be comma-separated"),
        ("CAREERBOT_PORT", "http", "CAREERBOT_PORT and CAREERBOT_RATE_LIMIT must be numbers"),
        ("CAREERBOT_RATE_LIMIT", "fast", "must be numbers"),
        ("CAREERBOT_RATE_LIMIT", "-1", "CAREERBOT_RATE_LIMIT must be 0 (no limit) or more"),
    ],
)
def test_a_bad_value_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env()


def test_a_malformed_token_is_refused_by_its_shape(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token")
    assert "malformed" in (Settings.from_env().token_problem() or "")

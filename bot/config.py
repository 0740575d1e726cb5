"""The settings: one object read from the environment and a ``.env`` file (the environment wins).

Every variable and default is listed in ``docs/interface.md``. Nothing else in the bot reads the
environment for its settings: ``store`` and ``knowledge`` take paths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API = "https://api.telegram.org/bot"
DEFAULT_LISTEN = "127.0.0.1"  # behind a TLS proxy; a container sets 0.0.0.0
TOKEN_SHAPE = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,50}$")
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")  # Telegram allows 1-256 of these
_TOKEN_ANYWHERE = re.compile(r"\d{3,15}:[A-Za-z0-9_-]{30,50}")
_secrets: set[str] = set()

# What the operator is told for a value that does not parse, by setting.
_BAD_VALUE = {
    "admin_ids": "CAREERBOT_ADMIN_IDS must be comma-separated numeric user ids",
    "port": "CAREERBOT_PORT and CAREERBOT_RATE_LIMIT must be numbers",
    "rate_limit": "CAREERBOT_RATE_LIMIT must be 0 (no limit) or more",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


def default_db_path() -> Path:
    """``careerbot.db`` in the user's data directory (``$XDG_DATA_HOME``, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "careerbot" / "careerbot.db"


def _env(name: str) -> Any:
    """A setting read from exactly the variable ``name`` (not prefix + field name)."""
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every setting the bot reads, with its documented default."""

    model_config = SettingsConfigDict(
        env_prefix="CAREERBOT_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
    )

    token: SecretStr | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    api_base_url: str = Field(DEFAULT_API, validation_alias=_env("TELEGRAM_API_BASE_URL"))
    # a SQLite file, or a postgresql:// URL (kept a string: a Path would fold its "//")
    db_path: Path | str = Field(
        default_factory=default_db_path, validation_alias=_env("CAREERBOT_DB")
    )
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = None
    port: int = 8443
    webhook_listen: str = DEFAULT_LISTEN
    rate_limit: float = Field(30.0, ge=0)
    data_dir: Path | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings; raise :class:`ConfigError` naming the first bad value."""
        try:
            return cls()
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            if field == "rate_limit" and error["type"] != "greater_than_equal":
                field = "port"  # not a number at all
            raise ConfigError(_BAD_VALUE.get(field, f"bad setting: {field}")) from None

    @field_validator("token", "webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("token", "webhook_secret", mode="after")
    @classmethod
    def _remember_secret(cls, value: object) -> object:
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(secret, str):
            _secrets.add(secret)  # redacted from every log line from now on
        return value

    @field_validator("api_base_url", "webhook_listen", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object, info: Any) -> object:
        if isinstance(value, str) and not value.strip():
            return DEFAULT_API if info.field_name == "api_base_url" else DEFAULT_LISTEN
        return value.strip() if isinstance(value, str) else value

    @field_validator("db_path", mode="before")
    @classmethod
    def _path_or_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value if value.startswith(("postgresql://", "postgres://")) else Path(value)
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(x) for x in value.split(",") if x.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return (value.strip().upper() or "INFO") if isinstance(value, str) else value

    def token_problem(self) -> str | None:
        """Why ``run`` cannot use the token (None: it can)."""
        if self.token is None:
            return "TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)"
        if not TOKEN_SHAPE.match(self.token.get_secret_value()):
            return "TELEGRAM_BOT_TOKEN is malformed (expected 123456:ABC...)"
        return None


def webhook_problem(settings: Settings) -> str | None:
    """Why webhook mode must not start with these settings (None: it may)."""
    if not settings.webhook_secret:
        return (
            "CAREERBOT_WEBHOOK_SECRET is not set; webhook mode needs it so that only Telegram "
            "can post updates"
        )
    if not WEBHOOK_SECRET.fullmatch(settings.webhook_secret):
        return "CAREERBOT_WEBHOOK_SECRET must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
    return None


def redact(text: str) -> str:
    """Remove the bot token (and anything shaped like one) and the webhook secret from ``text``."""
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    return _TOKEN_ANYWHERE.sub("[redacted]", text)

"""Configuration from environment variables (and an optional ``.env`` file), per DESIGN.md."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.store import default_db_path

DEFAULT_API = "https://api.telegram.org/bot"
TOKEN_SHAPE = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,50}$")
_TOKEN_ANYWHERE = re.compile(r"\d{3,15}:[A-Za-z0-9_-]{30,50}")
_secrets: set[str] = set()


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    """Every setting the bot reads, with DESIGN.md's defaults."""

    token: str | None = None
    api_base_url: str = DEFAULT_API
    db_path: Path | str = field(default_factory=default_db_path)  # a path or postgresql:// URL
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = None
    port: int = 8443
    webhook_listen: str = "127.0.0.1"  # behind a TLS proxy; a container sets 0.0.0.0
    rate_limit: float = 30.0
    data_dir: Path | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment; raise :class:`ConfigError` on a bad value."""
        env = os.environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
        if token:
            _secrets.add(token)
        secret = env.get("CAREERBOT_WEBHOOK_SECRET", "").strip() or None
        if secret:
            _secrets.add(secret)
        try:
            admins = frozenset(
                int(x) for x in env.get("CAREERBOT_ADMIN_IDS", "").split(",") if x.strip()
            )
        except ValueError:
            raise ConfigError(
                "CAREERBOT_ADMIN_IDS must be comma-separated numeric user ids"
            ) from None
        try:
            port = int(env.get("CAREERBOT_PORT", "8443"))
            rate = float(env.get("CAREERBOT_RATE_LIMIT", "30"))
        except ValueError:
            raise ConfigError("CAREERBOT_PORT and CAREERBOT_RATE_LIMIT must be numbers") from None
        if rate < 0:
            raise ConfigError("CAREERBOT_RATE_LIMIT must be 0 (no limit) or more")
        data_dir = env.get("CAREERBOT_DATA_DIR")
        return cls(
            token=token,
            api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API,
            db_path=default_db_path(),
            admin_ids=admins,
            webhook_url=env.get("CAREERBOT_WEBHOOK_URL", "").strip() or None,
            webhook_secret=secret,
            port=port,
            webhook_listen=env.get("CAREERBOT_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
            rate_limit=rate,
            data_dir=Path(data_dir) if data_dir else None,
            log_level=env.get("CAREERBOT_LOG_LEVEL", "INFO").strip().upper() or "INFO",
        )


def redact(text: str) -> str:
    """Remove the bot token (and anything shaped like one) and the webhook secret from ``text``."""
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    return _TOKEN_ANYWHERE.sub("[redacted]", text)


def load_dotenv(path: Path = Path(".env")) -> None:
    """Read ``KEY=value`` lines from ``path`` into the environment, without overriding it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))

"""Logging set-up: one format, the token redacted from every record, httpx kept quiet."""

from __future__ import annotations

import logging
from typing import Any

from bot.config import redact

_ours = "_careerbot"


def _redacting_factory(make: Any) -> Any:
    """Wrap a log record factory so every record is born with secrets removed.

    Redacting at creation (rather than in one handler's filter) covers every handler, including
    ones added later, and records from libraries such as httpx, whose messages carry the URL.
    """

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make(*args, **kwargs)
        try:
            record.msg = redact(record.getMessage())
            record.args = None
        except Exception:  # a malformed log call: keep its text, just redacted
            record.msg = redact(str(record.msg))
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    setattr(factory, _ours, True)
    return factory


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr at ``level``, secrets redacted; httpx (it logs URLs) at WARNING."""
    if not getattr(logging.getLogRecordFactory(), _ours, False):
        logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _ours, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    setattr(handler, _ours, True)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # four lines per reminder job

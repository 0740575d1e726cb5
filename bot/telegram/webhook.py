"""Webhook hardening: bounded bodies, one log line for a request that is not an update."""

from __future__ import annotations

import logging

MAX_WEBHOOK_BODY = 1_000_000  # bytes; Telegram's updates are a few KB


class _QuietWebhookErrors(logging.Filter):
    """A request that is not a valid update: one line, never its body or a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "webhook: dropped a request that is not a valid update", None
            record.exc_info, record.exc_text = None, None
        return True


def limit_webhook_requests() -> None:
    """Bound the webhook's request bodies and quiet its malformed-request log."""
    from tornado.httpserver import HTTPServer  # python-telegram-bot's webhook server

    HTTPServer.configure(None, max_body_size=MAX_WEBHOOK_BODY)
    logging.getLogger("telegram.ext._utils.webhookhandler").addFilter(_QuietWebhookErrors())

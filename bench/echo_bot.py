"""The yardstick for bench/throughput.py: a plain python-telegram-bot echo bot.

Nothing of careerbot: the library's defaults (its own HTTP client, updates one at a time), one
handler that echoes every text message (commands included). It registers one command at start,
as careerbot does, so the harness knows when it is polling. Token and Bot API address come from
``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_API_BASE_URL`` (the stand-in on 127.0.0.1).
"""

from __future__ import annotations

import os

from telegram import BotCommand, Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the message's text back."""
    if update.message and update.message.text:
        await update.message.reply_text(update.message.text)


async def post_init(app: Application) -> None:  # type: ignore[type-arg]
    """Register one command (the harness waits for it, then for the first poll)."""
    await app.bot.set_my_commands([BotCommand("start", "start")])


def main() -> None:
    """Poll until killed."""
    app = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .post_init(post_init)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()

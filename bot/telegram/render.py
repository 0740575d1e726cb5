"""Replies as Telegram messages: HTML under the length limit, buttons as an inline keyboard."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.replies import MAX_MESSAGE, Reply, split_text, utf16_len

SHORT_LABEL = 14  # buttons with labels this short (feedback, yes/no) share a row


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """A reply as HTML messages under Telegram's limit; the buttons go on the last one.

    The plain text is split first and each piece escaped, so no entity (``&amp;``) is ever cut;
    where escaping makes a piece too long, it is split again more finely.
    """
    head = f"<b>{html(reply.title)}</b>\n" if reply.title else ""
    foot = f"\n\n<i>Sources: {html('; '.join(reply.sources))}</i>" if reply.sources else ""
    room = MAX_MESSAGE - utf16_len(head) - utf16_len(foot)
    chunks: list[str] = []
    for piece in split_text(reply.text, room):
        limit = room
        escaped = [html(p) for p in split_text(piece, limit)]
        while any(utf16_len(e) > room for e in escaped):
            limit = limit * 3 // 4
            escaped = [html(p) for p in split_text(piece, limit)]
        chunks += escaped
    chunks[0] = head + chunks[0]
    chunks[-1] += foot
    last = len(chunks) - 1
    return [(chunk, keyboard(reply) if i == last else None) for i, chunk in enumerate(chunks)]


def html(text: str) -> str:
    """Escape text for Telegram's HTML mode (quotes need no escaping there)."""
    return escape(text, quote=False)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons: short ones two to a row, topic buttons on their own."""
    if not reply.buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in reply.buttons:
        key = InlineKeyboardButton(button.label, callback_data=button.data)
        short = len(button.label) <= SHORT_LABEL
        if rows and short and len(rows[-1]) == 1 and len(rows[-1][0].text) <= SHORT_LABEL:
            rows[-1].append(key)
        else:
            rows.append([key])
    return InlineKeyboardMarkup(rows)

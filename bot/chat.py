"""The terminal channel: the same engine and store as Telegram, buttons as numbered choices."""

from __future__ import annotations

import sys

from bot.config import Settings
from bot.engine import Engine
from bot.knowledge import load
from bot.replies import Button, Turn
from bot.store import Store

USER = "terminal"


def render(turn: Turn) -> tuple[str, list[Button]]:
    """The turn as terminal text, and the buttons in the order they are numbered."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in turn.replies:
        lines.append(reply.plain())
        for button in reply.buttons:
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.label}")
        lines.append("")
    return "\n".join(lines), buttons


def run_chat(settings: Settings) -> int:
    """Talk with the bot on stdin/stdout until EOF."""
    from bot.cli import answer_line, tolerant_streams

    engine = Engine(load(settings.data_dir), Store(settings.db_path))
    tolerant_streams()
    interactive = sys.stdin.isatty()
    print(
        "careerbot (terminal). Type a question, a number to press a button, /help; Ctrl-D quits.\n"
    )
    text, buttons = render(engine.handle(USER, "/start"))
    print(text)
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            print()
            return 0
        choice = line.strip()
        if choice.isascii() and choice.isdigit() and 1 <= int(choice) <= len(buttons):
            turn = answer_line(engine, engine.press, USER, buttons[int(choice) - 1].data)
        else:
            turn = answer_line(engine, engine.handle, USER, line)
        text, buttons = render(turn)
        print(text)

"""The terminal channel: the same engine and store as Telegram, buttons as numbered choices."""

from __future__ import annotations

import sys
from collections.abc import Callable

from bot.charts import Pictures, cache_folder
from bot.config import Settings
from bot.engine import Engine
from bot.knowledge import load
from bot.replies import Button, Turn
from bot.store import Store

USER = "terminal"


def render(turn: Turn, pictures: Pictures | None = None) -> tuple[str, list[Button]]:
    """The turn as terminal text, and the buttons in the order they are numbered; a chart is
    drawn to a PNG file and its path printed."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in turn.replies:
        lines.append(reply.plain())
        if reply.image and pictures is not None:
            path = pictures.path(reply.image)
            lines.append(f"  [picture] {path}" if path else "  [picture could not be drawn]")
        for button in reply.buttons:
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.label}")
        lines.append("")
    return "\n".join(lines), buttons


def run_chat(settings: Settings) -> int:
    """Talk with the bot on stdin/stdout until EOF."""
    engine = Engine(load(settings.data_dir), Store(settings.db_path))
    tolerant_streams()
    pictures = Pictures(engine.kb, cache_folder(settings.db_path))
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
        text, buttons = render(turn, pictures)
        print(text)


def tolerant_streams() -> None:
    """Read undecodable input bytes as U+FFFD and never fail to print: one odd line in a
    terminal or a pipe gets the reply any odd text gets, instead of ending the command."""
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def answer_line(engine: Engine, answer: Callable[[str, str], Turn], user: str, text: str) -> Turn:
    """``answer(user, text)``, or the apology a Telegram user gets when it fails: one bad line
    never ends ``chat`` or ``ask`` (the cause goes to stderr in one line)."""
    try:
        return answer(user, text)
    except Exception as exc:
        print(
            f"careerbot: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        return Turn([engine.response("error")])

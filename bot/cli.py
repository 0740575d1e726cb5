"""The command line: ``chat``, ``ask``, ``run``, ``check``, ``eval`` (docs/interface.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.charts import cache_folder
from bot.config import ConfigError, Settings, redact
from bot.database import StoreError
from bot.knowledge import check, default_data_dir, load
from bot.replies import Turn, valid_text
from bot.understanding import ModelError


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run one command; return the exit code."""
    parser = argparse.ArgumentParser(prog="careerbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("chat", help="talk to the bot in the terminal")
    ask = sub.add_parser("ask", help="answer questions (arguments, or one per line on stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("question", nargs="*")
    sub.add_parser("run", help="serve Telegram")
    chk = sub.add_parser("check", help="validate intents/ and knowledge/")
    chk.add_argument("dir", nargs="?", type=Path)
    ev = sub.add_parser("eval", help="intent accuracy report on a labelled set")
    ev.add_argument("file", nargs="?", type=Path)
    ev.add_argument("--misses", action="store_true", help="list every missed question")
    mig = sub.add_parser("migrate-store", help="copy every row from one store into an empty one")
    mig.add_argument("source", help="SQLite file or postgresql:// URL to copy from")
    mig.add_argument("target", help="SQLite file or postgresql:// URL to copy into (empty)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "check":
            return check_command(args.dir or settings.data_dir or default_data_dir())
        if args.command == "ask":
            charts = cache_folder(settings.db_path)
            return ask_command(args.question, args.json, settings.data_dir, charts)
        if args.command == "chat":
            from bot.chat import run_chat

            return run_chat(settings)
        if args.command == "migrate-store":
            from bot.migrate import migrate_store_command

            return migrate_store_command(args.source, args.target)
        if args.command == "eval":
            from bot.evaluate import eval_command

            return eval_command(args.file, args.misses, settings.data_dir)
        from bot.telegram.app import run_command

        return run_command(settings)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, StoreError) as exc:  # a setting, or a database that cannot be used
        print(f"careerbot: {exc}", file=sys.stderr)
        return 2
    except ModelError as exc:  # the embedding model is missing or corrupt: named, exit 2
        print(f"careerbot: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(
            f"careerbot: {redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        return 1


def check_command(data_dir: Path) -> int:
    """Validate the data under ``data_dir``; print a summary or one line per problem."""
    kb, problems = check(data_dir)
    if not problems:
        from bot.understanding import problems as semantic_problems

        problems += semantic_problems(kb)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(kb.summary())
    return 0


def ask_command(
    questions: list[str],
    as_json: bool,
    data_dir: Path | None = None,
    charts: Path | None = None,
) -> int:
    """Answer each question as the first message of a fresh user; pictures are drawn into
    ``charts`` (by default the folder beside the default database)."""
    from bot.charts import Pictures
    from bot.chat import answer_line, tolerant_streams
    from bot.engine import Engine
    from bot.store import Store

    engine = Engine(load(data_dir), Store(":memory:"))
    pictures = Pictures(engine.kb, charts or cache_folder(":memory:"))
    tolerant_streams()
    lines: Iterable[str] = questions or (line.rstrip("\n") for line in sys.stdin)
    for n, asked in enumerate(lines):
        question = valid_text(asked)
        turn = answer_line(engine, engine.handle, f"ask-{n}", question)
        drawn = [str(p) for p in map(pictures.path, turn.images) if p is not None]
        if as_json:
            print(json.dumps(turn_json(question, turn, drawn), ensure_ascii=False), flush=True)
        else:
            print(turn.plain() + "".join(f"\n[picture] {p}" for p in drawn) + "\n", flush=True)
    return 0


def turn_json(question: str, turn: Turn, images: list[str] | None = None) -> dict[str, object]:
    """The ``ask --json`` object for one answered question (the fields docs/interface.md names);
    ``images`` are the paths of the pictures drawn for it."""
    return {
        "question": question,
        "matched": turn.matched,
        "intent": turn.intent,
        "score": round(turn.score, 4),
        "text": turn.plain(),
        "buttons": [b.label for b in turn.buttons],
        "suggestions": turn.suggestions,
        "sources": turn.sources,
        "images": images or [],
    }

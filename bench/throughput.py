"""Benchmark: how many Telegram updates per second the real bot handles, and how fast it answers.

The real python-telegram-bot Application (``build_application``) polls the Bot API stand-in of
``tests/botapi.py`` on 127.0.0.1; N simulated users each go through a script:

* ``full`` (default, 8 updates): /start, a free-text question (from tests/data/labelled.yaml),
  /certifications, two button presses (callback_data taken from the bot's previous reply),
  the years of experience typed as a number, two more questions;
* ``short`` (2 updates): /start and one question; ``one``: a single question (for many users:
  memory and store size).

Users run concurrently, each in a closed loop (the next update right after the bot's answer to the
previous one, optionally capped at ``--rate`` updates/s overall). Before the run, the same scripts
go through an Engine on an in-memory store to learn how many messages each update must produce,
so each reply is attributed to its update exactly.

Latency is measured from the moment getUpdates hands an update to the bot (a wrapper around the
stand-in's getUpdates method records it) to the stand-in's receipt of the bot's first sendMessage
for it; "from push" also counts the time the update waited in the stand-in's queue.

Modes: ``inproc`` runs the Application in this process (one event loop with the stand-in and the
simulated users: one core for all); ``process`` runs the real ``python -m bot run`` subprocess
(CAREERBOT_RATE_LIMIT as configured) and reads its peak RSS (VmHWM) from /proc; ``echo`` runs
``bench/echo_bot.py``, a plain python-telegram-bot echo bot, as the yardstick: the same users and
script (button presses sent as text, every update answered by one echo). ``--echo`` adds an echo
run before each user count, so the ratio careerbot / echo is taken in the same sitting.

Every configuration runs in a fresh child process (so peak memory is its own), bounded by
``--max-seconds``. Run:

    .venv/bin/python bench/throughput.py                       # 10, 100, 1000 users, in-process
    .venv/bin/python bench/throughput.py --mode both           # and as the real subprocess
    .venv/bin/python bench/throughput.py --mode process --users 10000 --script short --no-limited
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_TOKEN,
    ROOT,
    BotApiStandIn,
    Recorder,
    cpu_seconds,
    percentile,
    running_bot,
    stop_process,
    store_size,
    table,
    vm_status,
)

TARGET = 300.0  # replies per second on this 2-core machine
TELEGRAM_LIMIT = 30.0
BASE_USER = 1_000_000
STEP_TIMEOUT = 60.0


@dataclass
class Config:
    mode: str
    users: int
    rate_limit: float
    script: str
    rate: float
    max_seconds: float
    tmpdir: str | None


@dataclass
class Step:
    kind: str  # "text" or "press"
    arg: str | int  # the text, or the index of the button in the previous reply
    expect: int  # how many messages the bot sends for it
    label: str = ""  # the pressed button's label (for the report of mismatches)


@dataclass
class Result:
    mode: str
    users: int
    rate_limit: float
    script: str
    updates: int = 0
    replies: int = 0
    seconds: float = 0.0
    updates_per_s: float = 0.0
    replies_per_s: float = 0.0
    p50: float = float("nan")
    p95: float = float("nan")
    p99: float = float("nan")
    max: float = float("nan")
    push_p50: float = float("nan")
    push_p99: float = float("nan")
    engine_per_s: float = float("nan")  # Engine.handle/press alone, same scripts, file store
    rss_start_mb: float = float("nan")
    rss_end_mb: float = float("nan")
    peak_mb: float = float("nan")
    bot_cpu_s: float = float("nan")
    bench_cpu_s: float = float("nan")  # this process: stand-in + simulated users (+ bot inproc)
    db_mb: float = float("nan")
    startup_s: float = float("nan")
    failed_calls: int = 0
    error_replies: int = 0
    timeouts: int = 0
    mismatches: int = 0
    unexpected_replies: int = 0
    complete: bool = True
    notes: list[str] = field(default_factory=list)


# --- the users' scripts ------------------------------------------------------------------------


def script_for(i: int, kind: str, questions: list[str]) -> list[tuple[str, str | int]]:
    n = len(questions)

    def q(k: int) -> str:
        return questions[(i * 3 + k) % n]

    if kind == "short":
        return [("text", "/start"), ("text", q(0))]
    if kind == "echo":  # the full script's updates, all as text, for the echo bot
        full = script_for(i, "full", questions)
        return [("text", str(a) if k == "text" else "ok") for k, a in full]
    if kind == "one":
        return [("text", q(0))]
    return [
        ("text", "/start"),
        ("text", q(0)),
        ("text", "/certifications"),
        ("press", i % 5),  # where do you work: one of five
        ("press", (i // 5) % 7),  # which side of the work: one of seven
        ("text", str(i % 25)),  # years in healthcare
        ("text", q(1)),
        ("text", q(2)),
    ]


def flat_buttons(markup: Any) -> list[tuple[str, str]]:
    """(label, callback_data) of an InlineKeyboardMarkup or its dict form, row after row."""
    if markup is None:
        return []
    rows = markup["inline_keyboard"] if isinstance(markup, dict) else markup.inline_keyboard
    out = []
    for row in rows:
        for b in row:
            if isinstance(b, dict):
                out.append((b.get("text", ""), b.get("callback_data", "")))
            else:
                out.append((b.text, b.callback_data or ""))
    return out


def plan_users(users: int, kind: str, db: Path) -> tuple[list[list[Step]], list[str], float]:
    """Each user's steps and how many messages each produces, learned on a scratch engine.

    The scratch engine has its own SQLite file (WAL, synchronous=FULL, as the bot's), so the time
    this takes also gives the engine's own ceiling: updates per second without any Telegram I/O.
    """
    from bot.engine import Engine
    from bot.evaluate import load_set
    from bot.knowledge import load
    from bot.store import Store
    from bot.telegram.render import render

    kb = load()
    questions = [e.text for e in load_set(ROOT / "tests" / "data" / "labelled.yaml")]
    if kind == "echo":  # one echo for every update, no engine
        echo = [
            [Step("text", a, 1) for _, a in script_for(i, kind, questions)] for i in range(users)
        ]
        return echo, [], float("nan")
    engine = Engine(kb, Store(db))
    plans: list[list[Step]] = []
    began = time.perf_counter()
    for i in range(users):
        uid = str(BASE_USER + i)
        plan: list[Step] = []
        buttons: list[tuple[str, str]] = []
        for step_kind, arg in script_for(i, kind, questions):
            label = ""
            if step_kind == "text":
                turn = engine.handle(uid, str(arg))
            else:
                label, data = buttons[int(arg)]
                turn = engine.press(uid, data)
            messages = [m for reply in turn.replies for m in render(reply)]
            plan.append(Step(step_kind, arg, len(messages), label))
            buttons = flat_buttons(messages[-1][1]) if messages else []
        plans.append(plan)
    elapsed = time.perf_counter() - began
    engine.store.close()
    updates = sum(len(plan) for plan in plans)
    return plans, [kb.responses["error"].text], updates / elapsed


class Pacer:
    """At most ``rate`` injections per second overall (0: no cap)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.next = time.monotonic()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        at = max(self.next, now)
        self.next = at + 1 / self.rate
        if at > now:
            await asyncio.sleep(at - now)


@dataclass
class Done:
    update_id: int
    pushed: float
    first: float | None
    last: float | None


async def simulate_user(
    uid: int,
    plan: list[Step],
    api: BotApiStandIn,
    rec: Recorder,
    pacer: Pacer,
    done: list[Done],
    problems: dict[str, int],
) -> None:
    expected = 0
    buttons: list[tuple[str, str]] = []
    last_message_id = 0
    for step in plan:
        await pacer.take()
        if step.kind == "text":
            update_id = api.text_message(uid, str(step.arg))
        else:
            index = int(step.arg)
            if index >= len(buttons) or buttons[index][0] != step.label:
                problems["mismatches"] += 1
                return
            update_id = api.callback(uid, buttons[index][1], last_message_id)
        pushed = time.monotonic()
        expected += step.expect
        if step.expect == 0:
            done.append(Done(update_id, pushed, None, None))
            continue
        if not await rec.wait(uid, expected, STEP_TIMEOUT):
            problems["timeouts"] += 1
            return
        mine = rec.replies[uid][expected - step.expect : expected]
        done.append(Done(update_id, pushed, mine[0][0], mine[-1][0]))
        last = mine[-1][1]
        last_message_id = int(last["message_id"])
        buttons = flat_buttons(last.get("reply_markup"))


# --- one configuration (runs in a child process) ----------------------------------------------


async def run_config(cfg: Config) -> Result:
    from bot.config import Settings
    from bot.engine import Engine
    from bot.knowledge import load
    from bot.store import Store
    from bot.telegram.app import build_application, post_init

    logging.basicConfig(level=logging.WARNING)
    result = Result(cfg.mode, cfg.users, cfg.rate_limit, cfg.script)
    with tempfile.TemporaryDirectory(prefix="careerbot-bench-", dir=cfg.tmpdir) as tmp:
        tmp_path = Path(tmp)
        db = tmp_path / "bot.db"
        plans, error_texts, result.engine_per_s = plan_users(
            cfg.users, "echo" if cfg.mode == "echo" else cfg.script, tmp_path / "scratch.db"
        )
        async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
            rec = Recorder(api)
            app = engine = proc = None
            cm = None
            t_start = time.monotonic()
            if cfg.mode == "inproc":
                settings = Settings(
                    token=DEFAULT_TOKEN,
                    api_base_url=api.base_url,
                    db_path=db,
                    rate_limit=cfg.rate_limit,
                )
                engine = Engine(load(), Store(settings.db_path))
                app = build_application(settings, engine)
                await app.initialize()
                await post_init(app)
                await app.start()
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0, timeout=1)
                result.startup_s = time.monotonic() - t_start
                result.rss_start_mb = vm_status().get("VmRSS", 0) / 1024
            else:
                echo = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
                command = echo if cfg.mode == "echo" else None
                cm = running_bot(api, rec.watch, db, tmp_path, cfg.rate_limit, command)
                proc, result.startup_s = await cm.__aenter__()
                result.rss_start_mb = vm_status(proc.pid).get("VmRSS", 0) / 1024
                cpu_before = cpu_seconds(proc.pid)
            try:
                done: list[Done] = []
                problems: dict[str, int] = defaultdict(int)
                pacer = Pacer(cfg.rate)
                bench_cpu = time.process_time()
                tasks = [
                    asyncio.create_task(
                        simulate_user(BASE_USER + i, plan, api, rec, pacer, done, problems)
                    )
                    for i, plan in enumerate(plans)
                ]
                _, pending = await asyncio.wait(tasks, timeout=cfg.max_seconds)
                if pending:
                    result.complete = False
                    result.notes.append(f"stopped after {cfg.max_seconds:.0f} s")
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                result.bench_cpu_s = time.process_time() - bench_cpu
                status = vm_status() if proc is None else vm_status(proc.pid)
                result.peak_mb = status.get("VmHWM", 0) / 1024
                result.rss_end_mb = status.get("VmRSS", 0) / 1024
                if proc is not None:
                    result.bot_cpu_s = cpu_seconds(proc.pid) - cpu_before
            finally:
                if app is not None and engine is not None:
                    assert app.updater is not None
                    await app.updater.stop()
                    await app.stop()
                    await app.shutdown()
                    engine.store.close()
                if proc is not None and cm is not None:
                    code = await stop_process(proc)
                    await cm.__aexit__(None, None, None)
                    if code != 0:
                        result.notes.append(f"bot exited with {code}")
            result.timeouts = problems["timeouts"]
            result.mismatches = problems["mismatches"]
            measure(result, rec, done, api, plans, error_texts)
        result.db_mb = store_size(tmp_path) / 2**20
    return result


def measure(
    result: Result,
    rec: Recorder,
    done: list[Done],
    api: BotApiStandIn,
    plans: list[list[Step]],
    error_texts: list[str],
) -> None:
    answered = [d for d in done if d.first is not None]
    result.updates = len(done)
    handouts = [rec.handout[d.update_id] for d in done if d.update_id in rec.handout]
    if not answered or not handouts:
        result.notes.append("nothing answered")
        return
    begin = min(handouts)
    end = max(d.last for d in answered if d.last is not None)
    replies = [t for chat in rec.replies.values() for t, _ in chat if begin <= t <= end]
    result.replies = len(replies)
    result.seconds = end - begin
    result.updates_per_s = result.updates / result.seconds
    result.replies_per_s = result.replies / result.seconds
    lat = [
        (d.first - rec.handout[d.update_id]) * 1000
        for d in answered
        if d.first is not None and d.update_id in rec.handout
    ]
    push = [(d.first - d.pushed) * 1000 for d in answered if d.first is not None]
    result.p50, result.p95, result.p99 = (percentile(lat, p) for p in (50, 95, 99))
    result.max = max(lat)
    result.push_p50, result.push_p99 = percentile(push, 50), percentile(push, 99)
    # a getUpdates long poll superseded at shutdown (409) is no failure of the bot
    failed = [
        c for c in api.sent if c.failed and not (c.method == "getUpdates" and c.status == 409)
    ]
    result.failed_calls = len(failed)
    kinds: dict[str, int] = defaultdict(int)
    for c in failed:
        kinds[f"{c.method} {c.status} {(c.error or '')[:60]}"] += 1
    result.notes += [f"{n} x {k}" for k, n in kinds.items()]
    result.error_replies = sum(
        1 for chat in rec.replies.values() for _, m in chat if m.get("text") in error_texts
    )
    if result.complete and not result.timeouts and not result.mismatches:
        expected = sum(s.expect for plan in plans for s in plan)
        got = sum(len(chat) for chat in rec.replies.values())
        result.unexpected_replies = got - expected


def child_main(raw: str) -> None:
    cfg = Config(**json.loads(raw))
    result = asyncio.run(run_config(cfg))
    print("RESULT " + json.dumps(asdict(result)), flush=True)


# --- the driver --------------------------------------------------------------------------------


def run_child(cfg: Config) -> Result:
    """Run one configuration in a fresh process (its own session, killed as a group on timeout)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(asdict(cfg))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=cfg.max_seconds + 180)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the child and the bot process it started
        out, err = child.communicate()
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return Result(**json.loads(line[len("RESULT ") :]))
    failed = Result(cfg.mode, cfg.users, cfg.rate_limit, cfg.script, complete=False)
    failed.notes.append(f"child failed ({child.returncode}): {err.strip()[-300:]}")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="10,100,1000", help="comma-separated user counts")
    parser.add_argument(
        "--mode",
        choices=("inproc", "process", "both", "echo"),
        default="inproc",
        help="bot in this process, as the real `python -m bot run`, or both",
    )
    parser.add_argument(
        "--script",
        choices=("full", "short", "one"),
        default="full",
        help="full: 8 updates per user; short: /start and one question; one: one question",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="the bot's own rate limit for the main runs (default 0: none)",
    )
    parser.add_argument(
        "--limited-users",
        type=int,
        default=100,
        help="users of the extra run with the default rate limit 30 (default 100)",
    )
    parser.add_argument("--no-limited", action="store_true", help="skip the rate-limited run")
    parser.add_argument(
        "--echo",
        action="store_true",
        help="also run the plain echo bot (bench/echo_bot.py) before each user count",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="cap on injected updates per second overall (default 0: closed loop)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=100.0,
        help="stop a configuration's traffic after this long (default 100)",
    )
    parser.add_argument("--tmpdir", default=None, help="where the temporary databases go")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    modes = ["inproc", "process"] if args.mode == "both" else [args.mode]
    common = (args.script, args.rate, args.max_seconds, args.tmpdir)
    configs = [
        Config(mode, int(u), args.rate_limit, *common)
        for u in args.users.split(",")
        for mode in (["echo"] if args.echo and "echo" not in modes else []) + modes
    ]
    if not args.no_limited and args.limited_users > 0:
        configs += [Config(mode, args.limited_users, TELEGRAM_LIMIT, *common) for mode in modes]
    injection = "closed loop" if args.rate <= 0 else f"<= {args.rate:g} updates/s"
    print(
        f"careerbot throughput: {os.cpu_count()} CPUs, script {args.script!r}, "
        f"injection {injection}",
        flush=True,
    )
    results: list[Result] = []
    for cfg in configs:
        began = time.monotonic()
        result = run_child(cfg)
        results.append(result)
        state = "" if result.complete else " (INCOMPLETE)"
        print(
            f"  {cfg.mode:7} users={cfg.users:<6} rate_limit={cfg.rate_limit:<4g} "
            f"{result.replies_per_s:7.1f} replies/s, run took {time.monotonic() - began:5.1f} s"
            f"{state} {'; '.join(result.notes)}",
            flush=True,
        )

    print(
        "\nthroughput and latency (latency: getUpdates hand-out -> first reply received; "
        "push: update queued -> first reply)"
    )
    headers = [
        "mode",
        "users",
        "limit",
        "updates",
        "replies",
        "secs",
        "upd/s",
        "repl/s",
        "engine/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "push p50",
        "push p99",
        "errors",
    ]
    rows = []
    for r in results:
        errors = r.failed_calls + r.error_replies + r.timeouts + r.mismatches
        rows.append(
            [
                r.mode,
                r.users,
                f"{r.rate_limit:g}",
                r.updates,
                r.replies,
                r.seconds,
                r.updates_per_s,
                r.replies_per_s,
                r.engine_per_s,
                r.p50,
                r.p95,
                r.p99,
                r.max,
                r.push_p50,
                r.push_p99,
                errors,
            ]
        )
    print(table(headers, rows))
    print(
        "\nresources (MB: RSS of the bot process, or of this whole process in inproc mode; "
        "CPU s during the traffic)"
    )
    headers = [
        "mode",
        "users",
        "limit",
        "start MB",
        "end MB",
        "peak MB",
        "bot CPU s",
        "bench CPU s",
        "ms CPU/upd",
        "db MB",
        "startup s",
    ]
    rows = []
    for r in results:
        cpu = r.bot_cpu_s if r.mode == "process" else r.bench_cpu_s
        per = cpu / r.updates * 1000 if r.updates else float("nan")
        rows.append(
            [
                r.mode,
                r.users,
                f"{r.rate_limit:g}",
                r.rss_start_mb,
                r.rss_end_mb,
                r.peak_mb,
                r.bot_cpu_s,
                r.bench_cpu_s,
                per,
                r.db_mb,
                r.startup_s,
            ]
        )
    print(table(headers, rows))
    print()
    for r in results:
        if r.unexpected_replies or r.failed_calls or r.error_replies or r.timeouts or r.mismatches:
            print(
                f"  {r.mode}/{r.users}/{r.rate_limit:g}: failed calls {r.failed_calls}, error "
                f"replies {r.error_replies}, timeouts {r.timeouts}, mismatches {r.mismatches}, "
                f"unexpected replies {r.unexpected_replies}"
            )
    unlimited = [r for r in results if r.rate_limit == 0 and r.complete]
    if args.rate > 0:
        print(f"target >= {TARGET:.0f} replies/s not judged: injection capped at {args.rate:g}/s")
    elif unlimited:
        best = max(unlimited, key=lambda r: r.replies_per_s)
        verdict = "MET" if best.replies_per_s >= TARGET else "NOT MET"
        print(
            f"target >= {TARGET:.0f} replies/s without a rate limit: {verdict} "
            f"(best {best.replies_per_s:.0f}/s: {best.mode}, {best.users} users); "
            f"Telegram itself allows ~{TELEGRAM_LIMIT:.0f} messages/s overall"
        )
    echoes = {r.users: r for r in results if r.mode == "echo" and r.complete}
    for r in results:
        echo = echoes.get(r.users)
        if r.mode != "echo" and echo is not None and r.rate_limit == 0 and echo.replies_per_s:
            print(
                f"{r.mode}, {r.users} users: {r.replies_per_s:.0f} replies/s = "
                f"{r.replies_per_s / echo.replies_per_s:.2f} x the plain echo bot's "
                f"{echo.replies_per_s:.0f}/s in the same run (target >= 0.5)"
            )
    for r in results:
        if r.rate_limit > 0:
            allowed = r.rate_limit * (r.seconds + 1)  # the limiter's first burst is one second's
            capped = "capped" if r.replies <= allowed * 1.05 else "NOT capped"
            print(
                f"with rate_limit {r.rate_limit:g} ({r.mode}, {r.users} users): "
                f"{r.replies_per_s:.1f} sendMessage/s ({capped}; the limiter lets a first burst "
                f"of {r.rate_limit:g} through, and calls without chat_id such as "
                f"answerCallbackQuery are not counted), reply p50 {r.p50:.0f} ms"
            )


if __name__ == "__main__":
    main()

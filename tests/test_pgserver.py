"""The tests' PostgreSQL server is real, unprivileged, password-protected, and survives a restart.

The PostgreSQL store's tests (and the fault tests that stop the server under a running bot)
rely on exactly these properties of ``tests/pgserver.py``.
"""

from __future__ import annotations

import os
import pwd

import psycopg
import pytest
from pgserver import PgServer


def test_the_server_runs_as_an_unprivileged_user(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.url()) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("careerbot",)
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None and int(version[0]) >= 150000
    pid = int((pg_server.data / "postmaster.pid").read_text().split()[0])
    owner = os.stat(f"/proc/{pid}").st_uid
    assert owner != 0, "postgres runs as root"
    if os.geteuid() == 0:
        assert pwd.getpwuid(owner).pw_name == "nobody"


def test_a_wrong_password_is_refused(pg_server: PgServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_server.url(password="not-the-password"), connect_timeout=10)


def test_data_survives_a_stop_and_start(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS survives; CREATE TABLE survives (x int)")
        conn.execute("INSERT INTO survives VALUES (42)")
    pg_server.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_server.url(), connect_timeout=5)
    pg_server.start()
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        assert conn.execute("SELECT x FROM survives").fetchall() == [(42,)]
        conn.execute("DROP TABLE survives")

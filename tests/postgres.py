"""The local PostgreSQL server the tests use (127.0.0.1:5432, trust auth, user postgres, database
`test`): started with Debian's pg_ctlcluster when it is installed but stopped, the `test`
database created when missing. Called once when the test session starts."""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import time

HOST, PORT = "127.0.0.1", 5432


def _listening() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((HOST, PORT)) == 0


def ensure_postgres() -> str:
    """'running', 'started' or a reason it is not available (the tests that need it then fail
    with the driver's own error)."""
    state = "running"
    if not _listening():
        versions = sorted(
            (os.path.basename(os.path.dirname(p)) for p in glob.glob("/etc/postgresql/*/main")),
            key=lambda v: [int(x) for x in v.split(".") if x.isdigit()],
        )
        if not versions or not os.path.exists("/usr/bin/pg_ctlcluster"):
            return "PostgreSQL is not installed (apt-get install postgresql)"
        subprocess.run(["pg_ctlcluster", versions[-1], "main", "start"], capture_output=True, check=False)
        deadline = time.monotonic() + 30
        while not _listening() and time.monotonic() < deadline:
            time.sleep(0.5)
        if not _listening():
            return f"PostgreSQL {versions[-1]} main did not start (pg_ctlcluster {versions[-1]} main start)"
        state = "started"
    import sqlalchemy as sa

    engine = sa.create_engine(
        f"postgresql+psycopg2://postgres@{HOST}:{PORT}/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as con:
            if not con.execute(sa.text("select 1 from pg_database where datname = 'test'")).first():
                con.execute(sa.text("create database test"))
    finally:
        engine.dispose()
    return state

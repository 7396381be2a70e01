"""A warm dbt: each dbt invocation of a run forks from a process that has dbt loaded already.

A dbt process spends 2.8 s here before it builds anything in a one-day refresh: 1.1 s importing
dbt and its DuckDB adapter, and most of the rest generating the (de)serializers of dbt's
dataclasses the first time a manifest is read or written (mashumaro compiles them lazily, per
process). A refresh runs dbt twice. The run process starts this server when it initializes the
dbt resource, so the imports and one ``dbt ls`` that selects nothing (which reads and writes a
manifest: the serializers get compiled) overlap the ingest; every invocation then forks from the
warm server and builds in about 1.1 s of start-up instead of 2.8 s.

dagster-dbt still starts ``finops-dbt`` as its child process (warehouse/dbt_guard.py); that small
client hands the server its argv, environment, working directory and stdin/stdout/stderr, so dbt
writes its JSON log lines straight into dagster-dbt's pipe, and exits with dbt's exit code. A
SIGINT or SIGTERM to the client is passed on; when the client dies (kill -9, or its parent died)
the worker kills itself, so no dbt outlives the process that started it. Each worker is a fresh
fork of a server that never ran a build, so no invocation sees another's state.

A client that comes while the server still warms waits for it (the two would only compete for
the cores); it falls back to a plain dbt whenever no server takes its request: none started, gone,
or still warming after ``WAIT_SECONDS``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

SERVER_ENV = "FINOPS_DBT_SERVER"  # the socket the client connects to (set by the dbt resource)
_LENGTH = struct.Struct("!Q")
_CODE = struct.Struct("!i")
_ACCEPTED = b"A"
WAIT_SECONDS = 30.0  # for a warming server to take the request; a warm-up takes 2-4 s
_FORWARDED = {signal.SIGINT: b"I", signal.SIGTERM: b"T"}


class WarmDbt:
    """The server, seen from the run process that started it."""

    def __init__(self, process: subprocess.Popen, folder: Path, parent_end: int) -> None:
        self.process, self.folder, self._parent_end = process, folder, parent_end
        self.socket = str(folder / "dbt.sock")

    @classmethod
    def start(cls, project_dir: Path, environment: Mapping[str, str]) -> WarmDbt:
        """Start warming in the background: returns at once."""
        folder = Path(tempfile.mkdtemp(prefix="finops-dbt-"))
        server_end, parent_end = os.pipe()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(folder / "dbt.sock.warming"))  # renamed to dbt.sock once warm
            listener.listen(16)
        except OSError:
            listener.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with listener, open(folder / "server.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(listener.fileno()), str(project_dir), str(server_end)],
                env={**os.environ, **environment},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[server_end, listener.fileno()],
                start_new_session=True,  # a Ctrl-C to the run's terminal reaches dbt through the client
            )
        os.close(server_end)
        return cls(process, folder, parent_end)

    def stop(self) -> None:
        os.close(self._parent_end)  # the server exits when its end of the pipe closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def run_warm(argv: list[str]) -> int | None:
    """The client: dbt's exit code, or None when no warm server answers (run dbt cold)."""
    path = os.environ.get(SERVER_ENV)
    if not path:
        return None
    conn = _connect(path)
    if conn is None:
        return None
    request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(conn, [_LENGTH.pack(len(request))], [0, 1, 2])
    conn.sendall(request)
    conn.settimeout(WAIT_SECONDS)
    try:
        accepted = _read(conn, 1) == _ACCEPTED
    except TimeoutError:  # a worker taking it later finds this end closed and exits unrun
        accepted = False
    if not accepted:
        conn.close()
        return None  # the server went away before a worker took the request: nothing ran
    conn.settimeout(None)
    for signum, code in _FORWARDED.items():
        signal.signal(signum, lambda *_, code=code: conn.send(code))
    reply = _read(conn, _CODE.size)
    if len(reply) < _CODE.size:
        print("finops-dbt: the warm dbt worker died before it reported an exit code", file=sys.stderr)
        return 1
    _read(conn, 1)  # returns at EOF: the worker has exited and released the warehouse
    return _CODE.unpack(reply)[0]


def _connect(path: str) -> socket.socket | None:
    """The warm server's socket; while it still warms, its listener (bound and listening since
    the run started it) queues the connection and the server takes it once warm. Measured in a
    one-day refresh: a cold dbt started beside a warming server took 6.8 s, the same step waiting
    for it 3.5 s (the cold start and the warm-up competed for the two cores). A server that died
    closed its listener: the connection is refused and dbt runs cold."""
    for candidate in (path, path + ".warming", path):  # it may be renamed between two attempts
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(candidate)
            return conn
        except OSError:
            conn.close()
    return None


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def serve(listen_fd: int, project_dir: str, parent_fd: int) -> None:
    """The server: warm up, then fork one worker per connection until the parent's pipe
    closes. A client that comes while it warms waits in the listener's queue (``_connect``)."""
    import select

    listener = socket.socket(fileno=listen_fd)
    try:
        _warm_up(Path(project_dir))
    except Exception:  # a cold worker still builds correctly
        import traceback

        traceback.print_exc()
    warming = listener.getsockname()
    os.rename(warming, warming.removesuffix(".warming"))
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        ready, _, _ = select.select([listener, parent_fd], [], [])
        if parent_fd in ready:  # the run process closed its end, or died
            # after a kill -9 of the run process no teardown removes the folder: the server does
            shutil.rmtree(Path(listener.getsockname()).parent, ignore_errors=True)
            os._exit(0)
        conn, _ = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            os.close(parent_fd)
            _work(conn)  # never returns
        conn.close()


def _reap(*_: object) -> None:
    """Wait for finished workers: not SIG_IGN, whose reaping by the kernel drops their resource
    usage, so the run's peak RSS of its children would leave dbt out (bench/month_build.py)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _warm_up(project_dir: Path) -> None:
    """Import dbt and its adapter, and compile its serializers with a ``dbt ls`` that selects
    nothing (a partial parse from the project's last build: it opens no database). The parse it
    leaves is kept as this lake's: in a data folder's first build dbt parses the whole project
    (the lake's path is part of the parse), and it does so here, beside the ingest, instead of
    in the build's first dbt step (3-4 s there)."""
    import dbt.adapters.duckdb  # noqa: F401
    import dbt.task.build  # noqa: F401
    from dbt.cli.main import dbtRunner

    from finops_dagster.warehouse.lake_paths import keep_partial_parse, seed_partial_parse

    with tempfile.TemporaryDirectory(prefix="finops-dbt-warm-") as tmp:
        seed_partial_parse(project_dir / "target", Path(tmp), os.environ)  # this run's lake's
        if not (Path(tmp) / "partial_parse.msgpack").exists():
            return  # a full parse would take longer than the cold start it saves
        # no static parser: its Rust thread pool would not survive the fork, and a worker that
        # parses a changed model would wait on it forever
        args = ["ls", "--select", "tag:finops_warm_up_selects_nothing", "--log-format", "json"]
        args += ["--no-static-parser"]
        args += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
        result = dbtRunner().invoke([*args, "--target-path", tmp, "--log-path", tmp, "--quiet"])
        if result.success:
            keep_partial_parse(Path(tmp), project_dir / "target", os.environ)


def _work(conn: socket.socket) -> None:
    """One dbt invocation in a fresh fork, as the client's process would have run it."""
    import atexit
    import threading

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 1
    try:
        header, fds, _, _ = socket.recv_fds(conn, _LENGTH.size, 3)
        request = json.loads(_read(conn, _LENGTH.unpack(header)[0]))
        conn.sendall(_ACCEPTED)
        print(f"worker {os.getpid()}: dbt {' '.join(request['argv'][:1])}", file=sys.stderr, flush=True)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        threading.Thread(target=_watch, args=(conn,), daemon=True).start()
        sys.argv = ["dbt", *request["argv"]]  # dbt reads it too: the command its logs record
        code = _dbt(request["argv"])
        atexit._run_exitfuncs()  # dbt's log flush and multiprocessing's clean-up, as at exit
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(_CODE.pack(code))
    finally:
        # not a normal exit: C++ destructors would abort on the thread pool of the DuckDB
        # instance the server's `import duckdb` made, which a fork does not carry over
        os._exit(code)


def _dbt(argv: list[str]) -> int:
    from dbt.cli.main import cli

    try:  # prog_name: dbt's log would name the server's module as the command otherwise
        cli.main(args=argv, prog_name="dbt")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except KeyboardInterrupt:
        return 130
    return 0


def _watch(conn: socket.socket) -> None:
    """Signals the client passes on; its end closing means it died: so does the worker."""
    while True:
        try:
            data = conn.recv(1)
        except OSError:
            data = b""
        if not data:
            os.kill(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGINT if data == b"I" else signal.SIGTERM)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))

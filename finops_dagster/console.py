"""Quiet by default, loud on request: the CLI's own lines go to the terminal, everything else
(Dagster's event stream, dbt's output, library warnings) to a log file whose path is printed.

``make demo`` printed 3,587 lines before the UI, 2,748 of them Dagster DEBUG events, and the
four steps drowned. The redirection is done on the process's file descriptors 1 and 2, so it
also catches what subprocesses (dbt) and C libraries write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def log_file(data_dir: Path, command: str) -> Path:
    path = data_dir / "logs" / f"{command}-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def quiet(log_path: Path, verbose: bool = False) -> Iterator[Callable[[str], None]]:
    """Inside: stdout and stderr go to ``log_path`` (unless ``verbose``); the function yielded
    prints one line to the terminal either way."""
    if verbose:
        yield lambda line: print(line, flush=True)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)

        def say(line: str) -> None:
            os.write(saved_out, (line + "\n").encode())
            os.write(1, (f"[finops-dagster] {line}\n").encode())  # and in the log, in order

        handler = ProgressLines(say)
        PROGRESS.addHandler(handler)
        try:
            yield say
        finally:
            PROGRESS.removeHandler(handler)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)


class Stopwatch:
    """Elapsed time of a step, for the one line the CLI prints when it ends."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __str__(self) -> str:
        seconds = time.monotonic() - self.start
        return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


# Long steps (a CUR delivery read, Cost Explorer pages, a dbt build) report here as well as to
# Dagster's log: in the UI nothing listens, in the quiet CLI a handler prints them, rate-limited.
PROGRESS = logging.getLogger("finops_dagster.progress")
PROGRESS.setLevel(logging.INFO)
PROGRESS.propagate = False


def reporter(context) -> Callable[[str], None]:
    """The progress function an asset hands to a source: Dagster's log and the CLI's line."""

    def report(line: str) -> None:
        context.log.info(line)
        PROGRESS.info(line)

    return report


class ProgressLines(logging.Handler):
    """Prints a long step's progress (rows, bytes, percent) with its elapsed time, at most one
    line every ``every`` seconds (lines with a percentage every fifth of that, a phase reaching
    100 % always), so a ten-minute step says where it is without flooding the terminal."""

    def __init__(self, say: Callable[[str], None], every: float = 10.0) -> None:
        super().__init__(logging.INFO)
        self.say, self.every = say, every
        self.step, self.last = time.monotonic(), float("-inf")

    def restart(self) -> None:
        self.step, self.last = time.monotonic(), float("-inf")

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        message = record.getMessage()
        counted = "%" in message  # a line with a percentage is worth showing more often
        finished = "(100%)" in message or " 100%)" in message  # and the end of a counted phase always
        if not finished and now - self.last < (self.every / 5 if counted else self.every):
            return
        self.last = now
        self.say(f"      {now - self.step:5.0f} s  {message[:160]}")


def new_step() -> None:
    """A job starts: progress times count from here."""
    for handler in PROGRESS.handlers:
        if isinstance(handler, ProgressLines):
            handler.restart()

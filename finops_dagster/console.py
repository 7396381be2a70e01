"""Quiet by default, loud on request: the CLI's own lines go to the terminal, everything else
(Dagster's event stream, dbt's output, library warnings) to a log file whose path is printed.

``make demo`` printed 3,587 lines before the UI, 2,748 of them Dagster DEBUG events, and the
four steps drowned. The redirection is done on the process's file descriptors 1 and 2, so it
also catches what subprocesses (dbt) and C libraries write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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

        try:
            yield say
        finally:
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

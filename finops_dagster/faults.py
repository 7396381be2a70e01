"""Named crash points for the fault-injection suite (tests/faults/).

``FINOPS_CRASH_AT=<point>`` makes the process kill itself with SIGKILL (no cleanup, no
``finally``: what an OOM kill or a pulled plug does) when it reaches that point;
``FINOPS_CRASH_AT=<point>:hang`` makes it sleep instead, so a test can kill it from outside.
``FINOPS_CRASH_ONCE=<file>`` arms the point only while that file does not exist (it is created
when the point fires), so the re-run that follows a crash goes through. Unset, a crash point
costs one dictionary lookup. The points are listed in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_ENV = "FINOPS_CRASH_AT"
ONCE_ENV = "FINOPS_CRASH_ONCE"


def crash_point(name: str) -> None:
    """Die (or hang) here when the environment asks for it; read at the call, never at import."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    hang = spec.endswith(":hang")
    if spec.removesuffix(":hang") != name:
        return
    once = os.environ.get(ONCE_ENV)
    if once:
        marker = Path(once)
        if marker.exists():
            return
        marker.write_text(f"{name} fired in pid {os.getpid()}\n")
    if hang:
        while True:
            time.sleep(3600)
    os.kill(os.getpid(), signal.SIGKILL)

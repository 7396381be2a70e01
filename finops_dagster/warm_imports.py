"""Heavy imports a later step of the run needs, done ahead while the run process waits.

While a dbt step runs, the run's own process mostly waits on dbt's child process: one of the
two cores is idle for seconds. cost_forecast's first step imported statsmodels' ETS then (0.5-1 s
of a one-day refresh's 15 s, on the critical path). A dbt step now starts that import on a
thread when the forecast follows in the same run, and the forecast waits for that thread before
it imports the module itself: two threads never import the same modules at once (the
partially-initialised-module failure cur_expectations.warm_up describes).
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the forecast imports this module: plain Python, no Dagster import
    import dagster as dg

ETS = "statsmodels.tsa.exponential_smoothing.ets"
LATER_STEPS = {"cost_forecast": ETS, "forecast_backtest": ETS}  # step -> the module it imports

_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def runs_step(context: dg.AssetExecutionContext, step: str) -> bool:
    """Whether this run executes ``step`` (a run of a whole job executes all of its nodes)."""
    selected = context.run.step_keys_to_execute
    if selected is not None:
        return step in selected
    return context.job_def.graph.has_node_named(step)


def warm_for_later_steps(context: dg.AssetExecutionContext) -> None:
    """Start importing, in the background, what the run's later steps will import."""
    for step, module in LATER_STEPS.items():
        if runs_step(context, step):
            warm(module)


def warm(module: str) -> None:
    with _lock:
        if module in sys.modules or module in _threads:
            return
        thread = threading.Thread(
            target=importlib.import_module, args=(module,), name=f"warm-{module}", daemon=True
        )
        _threads[module] = thread
        thread.start()


def load(module: str) -> ModuleType:
    """``module``, once any warm-up of it has finished (its own error, if any, is raised here)."""
    with _lock:
        thread = _threads.get(module)
    if thread is not None:
        thread.join()
    return importlib.import_module(module)

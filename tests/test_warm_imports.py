"""The background import a dbt step starts for the forecast that follows it in the run."""

from __future__ import annotations

import sys
import types

import pytest

from finops_dagster import warm_imports


@pytest.fixture
def slow_module(monkeypatch, tmp_path):
    """A module whose import takes a while and counts how often it ran."""
    (tmp_path / "finops_slow_mod.py").write_text(
        "import time, builtins\n"
        "builtins.finops_slow_imports = getattr(builtins, 'finops_slow_imports', 0) + 1\n"
        "time.sleep(0.3)\n"
        "VALUE = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warm_imports, "_threads", {})
    yield "finops_slow_mod"
    sys.modules.pop("finops_slow_mod", None)
    import builtins

    builtins.__dict__.pop("finops_slow_imports", None)


def test_load_waits_for_the_warm_up_and_imports_once(slow_module) -> None:
    import builtins

    warm_imports.warm(slow_module)
    warm_imports.warm(slow_module)  # a second step asking again starts nothing
    assert len(warm_imports._threads) == 1
    module = warm_imports.load(slow_module)
    assert module.VALUE == 42
    assert builtins.finops_slow_imports == 1


def test_load_without_warm_up_imports_directly(slow_module) -> None:
    assert warm_imports.load(slow_module).VALUE == 42
    assert warm_imports._threads == {}


def test_a_failed_warm_up_raises_in_the_step_that_needs_the_module(monkeypatch) -> None:
    monkeypatch.setattr(warm_imports, "_threads", {})
    warm_imports.warm("finops_no_such_module")
    with pytest.raises(ModuleNotFoundError, match="finops_no_such_module"):
        warm_imports.load("finops_no_such_module")


def _context(step_keys, nodes):
    graph = types.SimpleNamespace(has_node_named=lambda name: name in nodes)
    return types.SimpleNamespace(
        run=types.SimpleNamespace(step_keys_to_execute=step_keys),
        job_def=types.SimpleNamespace(graph=graph),
    )


def test_only_runs_with_the_forecast_warm_statsmodels(monkeypatch) -> None:
    started = []
    monkeypatch.setattr(warm_imports, "warm", started.append)
    warm_imports.warm_for_later_steps(_context(None, {"dbt_daily_models", "cost_forecast"}))
    assert started == [warm_imports.ETS]
    started.clear()
    warm_imports.warm_for_later_steps(_context(["dbt_daily_models"], {"dbt_daily_models", "cost_forecast"}))
    warm_imports.warm_for_later_steps(_context(None, {"dbt_daily_models", "fct_daily_cost_conservation"}))
    assert started == []

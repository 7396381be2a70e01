"""Budgets against the month-end forecast: actual to date, forecast, probability of breaching.

The probability is the share of the forecast's simulated month totals above the budget, so it
carries the model's uncertainty instead of a yes/no on the point forecast.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def budget_status(budgets: pl.DataFrame, forecast: pl.DataFrame) -> pl.DataFrame:
    """budgets: scope_type, scope_value, monthly_budget; forecast: from ``forecast_month``.

    A budget whose scope had no cost yet is compared with zero. ``alert`` is set when the
    forecast crosses the budget (or the actual already has)."""
    fc = {(r["scope_type"], r["scope_value"]): r for r in forecast.iter_rows(named=True)}
    month = forecast["month_start"][0] if forecast.height else None
    rows = []
    for b in budgets.iter_rows(named=True):
        budget = float(b["monthly_budget"])
        f = fc.get((b["scope_type"], b["scope_value"]))
        sims = np.asarray(f["simulated_totals"]) if f else np.zeros(1)
        actual = f["actual_to_date"] if f else 0.0
        mean = f["forecast"] if f else 0.0
        probability = float((sims > budget).mean())
        status = ("breached" if actual > budget else "forecast_over" if mean > budget
                  else "at_risk" if probability >= 0.2 else "ok")
        rows.append({
            "month_start": month, "scope_type": b["scope_type"], "scope_value": b["scope_value"],
            "monthly_budget": round(budget, 2), "actual_to_date": actual, "forecast": mean,
            "lower_80": f["lower_80"] if f else 0.0, "upper_80": f["upper_80"] if f else 0.0,
            "breach_probability": round(probability, 4),
            "forecast_vs_budget_pct": round(mean / budget * 100, 1) if budget else None,
            "status": status, "alert": status in ("breached", "forecast_over"),
        })
    return pl.DataFrame(rows, schema=BUDGET_STATUS_SCHEMA)  # typed even with no budget (CUR alone)


BUDGET_STATUS_SCHEMA = {
    "month_start": pl.Date, "scope_type": pl.String, "scope_value": pl.String,
    "monthly_budget": pl.Float64, "actual_to_date": pl.Float64, "forecast": pl.Float64,
    "lower_80": pl.Float64, "upper_80": pl.Float64, "breach_probability": pl.Float64,
    "forecast_vs_budget_pct": pl.Float64, "status": pl.String, "alert": pl.Boolean,
}

"""Budgets as AWS Budgets users state them, against the month-end forecast.

Each budget has a scope (the organization, an account, team, service, a cost category value or a
tag value), a cost basis (amortized = effective cost, unblended = the invoice, upfront fees
included, or net) and a threshold share. Its forecast is made on that basis and scope: a budget
stated on unblended cost compared with the effective-cost forecast missed an $8,073 upfront
Savings Plan fee. The breach probability is the share of the forecast's (calibrated) simulated
month totals above the budget, so it carries the forecast's uncertainty.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from finops_dagster.insights.forecast import Window, calibrate, forecast_month

BASIS_COLUMNS = {"amortized": "effective_cost", "unblended": "billed_cost", "net": "net_billed_cost"}
COST_CATEGORY_COLUMNS = {"team": "cost_category_team", "environment": "cost_category_environment"}


class BudgetScopeError(ValueError):
    """A budget names a scope or basis the warehouse cannot compute; the message says which."""


def scope_daily_sql(scope_type: str, scope_value: str, basis: str) -> tuple[str, list[str]]:
    """SQL (and its parameters) for one budget's daily cost per charge category."""
    cost = BASIS_COLUMNS[basis]
    where, params = "", [scope_value]
    if scope_type == "organization":
        where, params = "", []
    elif scope_type == "account":
        where = "where sub_account_id = ?"
    elif scope_type == "service":
        where = "where service_code = ?"
    elif scope_type == "team":
        where = "where coalesce(tag_team, cost_category_team, 'unallocated') = ?"
    elif scope_type.startswith("cost_category:"):
        name = scope_type.split(":", 1)[1].lower()
        if name not in COST_CATEGORY_COLUMNS:
            raise BudgetScopeError(
                f"budget scope {scope_type}: only the configured cost categories "
                f"({', '.join(COST_CATEGORY_COLUMNS)}) are in the marts"
            )
        where = f"where {COST_CATEGORY_COLUMNS[name]} = ?"
    elif scope_type.startswith("tag:"):
        if basis == "net":
            raise BudgetScopeError(
                f"budget scope {scope_type}: tag budgets support the amortized and "
                "unblended bases (fct_daily_cost_tags has no net cost)"
            )
        return (
            f"select usage_date, charge_category, sum({cost}) as cost from fct_daily_cost_tags "
            "where tag_key = ? and tag_value = ? group by all order by all",
            [scope_type.split(":", 1)[1], scope_value],
        )
    else:
        raise BudgetScopeError(f"budget scope {scope_type!r} is not supported")
    # an upfront fee is paid once: in the actual, never in the daily series the model extrapolates
    model = cost if basis == "amortized" else f"{cost} - upfront_fee"
    return (
        f"select usage_date, charge_category, sum({cost}) as cost, sum({model}) as model_cost "
        f"from fct_daily_cost {where} group by all order by all",
        params,
    )


def budget_forecasts(con, budgets: pl.DataFrame, window: Window, factors: pl.DataFrame) -> pl.DataFrame:
    """One calibrated month-end forecast per distinct (cost basis, scope) the budgets name."""
    rows = []
    for basis, kind, value in (
        budgets.select("cost_basis", "scope_type", "scope_value").unique(maintain_order=True).iter_rows()
    ):
        sql, params = scope_daily_sql(kind, value, basis)
        daily = pl.from_arrow(con.execute(sql, params).to_arrow_table())
        if daily.is_empty() or daily["usage_date"].min() > window.as_of:
            continue  # no cost yet in this scope: compared with zero below
        frame = daily.with_columns(sub_account_id=pl.lit("scope"), service_code=pl.lit("-"), team=pl.lit("-"))
        fc = calibrate(forecast_month(frame, window, scope_types=("account",)), factors)
        rows.append(
            fc.with_columns(cost_basis=pl.lit(basis), scope_type=pl.lit(kind), scope_value=pl.lit(value))
        )
    return pl.concat(rows) if rows else pl.DataFrame()


def budget_status(budgets: pl.DataFrame, forecast: pl.DataFrame, month) -> pl.DataFrame:
    """budgets: scope_type, scope_value, monthly_budget, cost_basis, threshold_pct; forecast:
    ``budget_forecasts``.

    ``alert`` when the actual (``breached``) or the forecast (``forecast_over``) reaches the
    threshold share of the budget; a scope with no cost yet is compared with zero."""
    fc = {(r["cost_basis"], r["scope_type"], r["scope_value"]): r for r in forecast.iter_rows(named=True)}
    rows = []
    for b in budgets.iter_rows(named=True):
        budget, share = float(b["monthly_budget"]), float(b["threshold_pct"]) / 100
        line = budget * share
        f = fc.get((b["cost_basis"], b["scope_type"], b["scope_value"]))
        sims = np.asarray(f["simulated_totals"]) if f else np.zeros(1)
        actual = f["actual_to_date"] if f else 0.0
        mean = f["forecast"] if f else 0.0
        probability = float((sims >= line).mean())
        status = (
            "breached"
            if actual >= line
            else "forecast_over"
            if mean >= line
            else "at_risk"
            if probability >= 0.2
            else "ok"
        )
        rows.append(
            {
                "month_start": month,
                "scope_type": b["scope_type"],
                "scope_value": b["scope_value"],
                "cost_basis": b["cost_basis"],
                "threshold_pct": float(b["threshold_pct"]),
                "monthly_budget": round(budget, 2),
                "actual_to_date": actual,
                "forecast": mean,
                "lower_80": f["lower_80"] if f else 0.0,
                "upper_80": f["upper_80"] if f else 0.0,
                "breach_probability": round(probability, 4),
                "forecast_vs_budget_pct": round(mean / budget * 100, 1) if budget else None,
                "status": status,
                "alert": status in ("breached", "forecast_over"),
            }
        )
    return pl.DataFrame(rows, schema=BUDGET_STATUS_SCHEMA)  # typed even with no budget (CUR alone)


BUDGET_STATUS_SCHEMA = {
    "month_start": pl.Date,
    "scope_type": pl.String,
    "scope_value": pl.String,
    "cost_basis": pl.String,
    "threshold_pct": pl.Float64,
    "monthly_budget": pl.Float64,
    "actual_to_date": pl.Float64,
    "forecast": pl.Float64,
    "lower_80": pl.Float64,
    "upper_80": pl.Float64,
    "breach_probability": pl.Float64,
    "forecast_vs_budget_pct": pl.Float64,
    "status": pl.String,
    "alert": pl.Boolean,
}

"""Forecast, backtest and budgets: Python analytics over the marts, written beside the mart
exports (<data_dir>/exports/*.parquet) so the API, analysts and the alert sensor read them."""

import datetime as dt

import dagster as dg
import polars as pl
import pydantic

from finops_dagster.insights.budgets import BudgetScopeError, budget_forecasts
from finops_dagster.insights.budgets import budget_status as compute_budget_status
from finops_dagster.insights.forecast import (
    Window,
    backtest,
    calibrate,
    conformal_factors,
    forecast_month,
    leave_one_month_out,
    load_daily_costs,
    with_cost_explorer,
)
from finops_dagster.resources import CurExportResource, LakeResource
from finops_dagster.warehouse import engine
from finops_dagster.warehouse.exports import publish_frame

_COMMON = {
    "group_name": "insights",
    "kinds": {"python", "parquet"},
    "owners": ["team:finops-platform"],
    "pool": engine.pool(),
}


class ForecastConfig(dg.Config):
    as_of: str = pydantic.Field(
        default="",
        description="Last day the forecast may see (YYYY-MM-DD); "
        "default: the CUR resource's as-of date, capped at the last day with data.",
    )


def _export(lake: LakeResource, name: str, frame: pl.DataFrame) -> str:
    return str(publish_frame(lake.exports_dir, name, frame))


def _calibration_factors(lake: LakeResource) -> pl.DataFrame:
    """The interval factors of the forecast's backtest replays (none yet: the model's own)."""
    path = lake.exports_dir / "forecast_backtest.parquet"
    return conformal_factors(pl.read_parquet(path) if path.exists() else pl.DataFrame())


def _read_export(lake: LakeResource, name: str) -> pl.DataFrame:
    path = lake.exports_dir / f"{name}.parquet"
    if not path.exists():
        raise dg.Failure(f"{path} is missing: materialize {name} first")
    return pl.read_parquet(path)


@dg.asset(deps=["fct_daily_cost", "raw_cost_explorer_forecast", "forecast_backtest"], **_COMMON)
def cost_forecast(
    context: dg.AssetExecutionContext, config: ForecastConfig, lake: LakeResource, cur: CurExportResource
) -> dg.MaterializeResult:
    """Month-end cost of the open month per total, account, service, team and account x service:
    actual to date plus an ETS (statsmodels) forecast of the remaining days, 80 % and 95 %
    intervals, and Cost Explorer's own forecast beside it when present."""
    with lake.warehouse_reader() as con:
        daily = load_daily_costs(con)
    if daily.is_empty():
        raise dg.Failure("fct_daily_cost is empty: nothing to forecast")
    wanted = dt.date.fromisoformat(config.as_of) if config.as_of else cur.as_of_date()
    window = Window(min(wanted, daily["usage_date"].max()))
    context.log.info(
        f"forecasting {window.month_start:%Y-%m} as of {window.as_of} ({window.remaining_days} days to go)"
    )
    factors = _calibration_factors(lake)
    frame = with_cost_explorer(
        calibrate(forecast_month(daily, window), factors), lake.read_raw_file("cost_explorer_forecast")
    )
    total = frame.filter(pl.col("scope_type") == "total").row(0, named=True)
    return dg.MaterializeResult(
        metadata={
            "path": _export(lake, "cost_forecast", frame),
            "as_of": str(window.as_of),
            "month": f"{window.month_start:%Y-%m}",
            "scopes": frame.height,
            "total_forecast": dg.MetadataValue.float(total["forecast"]),
            "total_80": f"{total['lower_80']:.2f} .. {total['upper_80']:.2f}",
            "total_95": f"{total['lower_95']:.2f} .. {total['upper_95']:.2f}",
            "cost_explorer_forecast": str(total["ce_forecast"]),
            "calibration": dg.MetadataValue.md(
                _markdown(factors) if factors.height else "no backtest replays yet: the model's own intervals"
            ),
        }
    )


@dg.asset(deps=["fct_daily_cost"], **_COMMON)
def forecast_backtest(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The forecast replayed on past months (as seen on the eve of the month, the 10th and the
    20th) against what they cost: interval coverage and error, so its intervals can be trusted."""
    with lake.warehouse_reader() as con:
        daily = load_daily_costs(con)
    frame = backtest(daily, cache=lake.backtest_cache())  # past months' replays: computed once
    if frame.is_empty():
        context.log.warning("not enough history for a backtest (a month plus 28 days)")
        return dg.MaterializeResult(metadata={"replays": 0})
    # a single replayed month has no other to calibrate on: its calibrated columns are its own
    frame = leave_one_month_out(frame.drop("simulated_totals", strict=False))
    summary = (
        frame.group_by("cutoff_day")
        .agg(
            coverage_80=pl.col("in_80").mean(),
            coverage_95=pl.col("in_95").mean(),
            calibrated_80=pl.col("in_80_calibrated").mean(),
            calibrated_95=pl.col("in_95_calibrated").mean(),
            median_abs_pct_error=pl.col("abs_pct_error").median(),
        )
        .sort("cutoff_day")
    )
    return dg.MaterializeResult(
        metadata={
            "path": _export(lake, "forecast_backtest", frame),
            "replays": frame.height,
            "coverage_80": dg.MetadataValue.float(round(float(frame["in_80"].mean()), 3)),
            "coverage_95": dg.MetadataValue.float(round(float(frame["in_95"].mean()), 3)),
            # each month calibrated on the other months' replays: the coverage cost_forecast can claim
            "calibrated_coverage_80": dg.MetadataValue.float(
                round(float(frame["in_80_calibrated"].mean()), 3)
            ),
            "calibrated_coverage_95": dg.MetadataValue.float(
                round(float(frame["in_95_calibrated"].mean()), 3)
            ),
            "median_abs_pct_error": dg.MetadataValue.float(float(frame["abs_pct_error"].median())),
            "by_cutoff_day": dg.MetadataValue.md(_markdown(summary)),
        }
    )


@dg.asset(
    deps=["cost_forecast", "forecast_backtest", "stg_business__budgets", "fct_daily_cost_tags"], **_COMMON
)
def budget_status(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Every budget of the business data against the open month, on its own cost basis
    (amortized, unblended, net) and scope (organization, account, team, service, cost category,
    tag): actual to date, calibrated forecast, probability of reaching its threshold; ``alert``
    when the actual or the forecast reaches the threshold share of the budget."""
    forecast = _read_export(lake, "cost_forecast")
    window = Window(forecast["as_of"][0])
    factors = _calibration_factors(lake)
    with lake.warehouse_reader() as con:
        budgets = con.sql(
            "select scope_type, scope_value, monthly_budget, cost_basis, threshold_pct "
            "from stg_business__budgets"
        ).pl()
        try:
            forecasts = budget_forecasts(con, budgets, window, factors)
        except BudgetScopeError as exc:
            raise dg.Failure(description=str(exc)) from exc
    frame = compute_budget_status(budgets, forecasts, month=window.month_start)
    over = frame.filter(pl.col("alert"))
    for r in over.iter_rows(named=True):
        context.log.warning(
            f"budget {r['scope_type']} {r['scope_value']} ({r['cost_basis']}): forecast "
            f"{r['forecast']:.2f}, actual {r['actual_to_date']:.2f} against "
            f"{r['threshold_pct']:g} % of {r['monthly_budget']:.2f} "
            f"(p={r['breach_probability']})"
        )
    return dg.MaterializeResult(
        metadata={
            "path": _export(lake, "budget_status", frame),
            "budgets": frame.height,
            "alerts": over.height,
            "status": dg.MetadataValue.md(_markdown(frame.drop("lower_80", "upper_80"))),
        }
    )


def _markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return head + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows())


AUDIT_SQL = "select * from fct_billing_audit order by billing_period_start, sub_account_id, service_code"
ANOMALY_SQL = "select * from fct_cost_anomalies order by usage_date, dimension, dimension_value"


@dg.asset(deps=["fct_cost_anomalies", "fct_billing_audit", "budget_status"], **_COMMON)
def insight_alerts(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The alerts of the insight marts, one row each with a stable id: new anomaly episodes, open
    billing discrepancies, budgets whose forecast crosses them. The alert sensor posts them to the
    webhook exactly once; without a webhook they stay here and in this metadata."""
    from finops_dagster.insights.alerting import anomaly_alerts, audit_alerts, budget_alerts

    with lake.warehouse_reader() as con:
        anomalies, audit = con.sql(ANOMALY_SQL).pl(), con.sql(AUDIT_SQL).pl()
    alerts = (
        anomaly_alerts(anomalies) + audit_alerts(audit) + budget_alerts(_read_export(lake, "budget_status"))
    )
    frame = pl.DataFrame(
        [{"alert_id": a.alert_id, "kind": a.kind, "text": a.text} for a in alerts],
        schema={"alert_id": pl.String, "kind": pl.String, "text": pl.String},
    )
    resolved = audit.filter(pl.col("status") == "auto_resolved")
    for a in alerts:
        context.log.info(f"alert {a.alert_id}: {a.text}")
    return dg.MaterializeResult(
        metadata={
            "path": _export(lake, "insight_alerts", frame),
            "alerts": len(alerts),
            "anomalies": anomalies.height,
            "critical_anomalies": anomalies.filter(pl.col("severity") == "critical").height,
            "audit_candidates": audit.height,
            "audit_auto_resolved": resolved.height,
            "audit_open": audit.height - resolved.height,
            "audit_resolution_reasons": dg.MetadataValue.json(
                dict(resolved.group_by("resolution_reason").len().sort("resolution_reason").iter_rows())
            ),
            "alert_texts": dg.MetadataValue.md(
                "\n".join(f"- **{a.kind}** {a.text}" for a in alerts) or "none"
            ),
        }
    )

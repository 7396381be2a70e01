"""The few alerts a team acts on, built from the insight marts.

Each alert id is stable, so the outbox delivers it once whatever the number of runs, sensor
ticks or restarts:
- an anomaly episode (the anomalous days of one root cause, a resource's usage type, in any
  dimension, gaps under a week bridged) alerts once, on its first day, naming every dimension it
  shows in (service, account, team, customer); moves explained by the business driver, restated
  days and days not yet settled are in the mart but do not alert;
- an open billing discrepancy alerts once per period x account x service x diagnosis;
- a budget alerts once per month when its forecast (or actual) crosses it.
"""

from __future__ import annotations

import polars as pl

from finops_dagster.alerts import Alert


def _usd(value) -> str:
    amount = float(value)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


EPISODE_GAP_DAYS = 7  # the same root cause back within a week (a weekend-only spike) is one episode
ROOT_CAUSE = ["root_cause_resource_id", "root_cause_usage_type", "direction"]


def anomaly_episodes(anomalies: pl.DataFrame) -> pl.DataFrame:
    """The alertable anomaly rows, each with its root-cause episode: the days one resource's
    usage type moved in one direction, whatever dimension (service, account, team, customer)
    showed it, with gaps under EPISODE_GAP_DAYS bridged."""
    rows = anomalies.filter(pl.col("alertable")) if "alertable" in anomalies.columns else anomalies
    days = (
        rows.select(*ROOT_CAUSE, "usage_date")
        .unique()
        .sort(*ROOT_CAUSE, "usage_date")
        .with_columns(gap=pl.col("usage_date").diff().over(ROOT_CAUSE).dt.total_days())
        .with_columns(
            episode=(pl.col("gap").is_null() | (pl.col("gap") > EPISODE_GAP_DAYS))
            .cast(pl.Int32)
            .cum_sum()
            .over(ROOT_CAUSE)
        )
        .with_columns(
            root_cause_episode_start=pl.col("usage_date").min().over(*ROOT_CAUSE, "episode"),
            episode_days=pl.len().over(*ROOT_CAUSE, "episode"),
        )
        .drop("gap", "episode")
    )
    return rows.join(days, on=[*ROOT_CAUSE, "usage_date"], how="inner", nulls_equal=True)


def anomaly_alerts(anomalies: pl.DataFrame) -> list[Alert]:
    """One alert per root-cause episode, on its first day, naming every dimension it shows in."""
    episodes = anomaly_episodes(anomalies)
    firsts = episodes.filter(pl.col("usage_date") == pl.col("root_cause_episode_start"))
    alerts = []
    for key, group in firsts.sort("dimension").group_by(
        ["root_cause_episode_start", *ROOT_CAUSE], maintain_order=True
    ):
        start, resource, usage_type, direction = key
        worst = group.sort("z_score", descending=direction == "increase").row(0, named=True)
        where = ", ".join(
            f"{r['dimension']} {r['dimension_value']} ({_usd(r['baseline_cost'])} -> {_usd(r['cost'])})"
            for r in group.iter_rows(named=True)
        )
        text = (
            f":chart_with_upwards_trend: {worst['severity']} cost {direction} from {start}: {where}. "
            f"Root cause: usage type {usage_type} on {resource} ({worst['root_cause_tag']}, "
            f"{worst['root_cause_region']}), a {worst['change_driver']} change, "
            f"z={worst['z_score']}."
        )
        alerts.append(Alert(f"anomaly:{start}:{resource}:{usage_type}:{direction}", "anomaly", text))
    return alerts


def audit_alerts(audit: pl.DataFrame) -> list[Alert]:
    alerts = []
    for r in audit.filter(pl.col("status") == "open").iter_rows(named=True):
        period = f"{r['billing_period_start']:%Y-%m}"
        text = (
            f":mag: billing discrepancy {period} {r['sub_account_id']} {r['service_code']}: "
            f"{r['diagnosis']}, billed {_usd(r['billed_cost'])} vs expected {_usd(r['expected_cost'])} "
            f"({_usd(r['unexplained'])} unexplained"
            + (f", {_usd(r['unbilled_cost'])} of usage never billed" if r["unbilled_cost"] else "")
            + ")."
        )
        alerts.append(
            Alert(
                f"audit:{period}:{r['sub_account_id']}:{r['service_code']}:{r['diagnosis']}", "auditor", text
            )
        )
    return alerts


def budget_alerts(status: pl.DataFrame) -> list[Alert]:
    alerts = []
    for r in status.filter(pl.col("alert")).iter_rows(named=True):
        month = f"{r['month_start']:%Y-%m}"
        text = (
            f":money_with_wings: budget {r['scope_type']} {r['scope_value']} {month} "
            f"({r['cost_basis']} cost, alerting at {r['threshold_pct']:g} %): {r['status']}; forecast "
            f"{_usd(r['forecast'])} (80 %: {_usd(r['lower_80'])}-{_usd(r['upper_80'])}) against "
            f"{_usd(r['monthly_budget'])}, {r['breach_probability']:.0%} likely to breach; "
            f"{_usd(r['actual_to_date'])} spent so far."
        )
        alerts.append(Alert(f"budget:{r['scope_type']}:{r['scope_value']}:{month}", "budget", text))
    return alerts

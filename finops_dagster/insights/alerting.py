"""The few alerts a team acts on, built from the insight marts.

Each alert id is stable, so the outbox delivers it once whatever the number of runs, sensor
ticks or restarts:
- an anomaly episode (consecutive anomalous days of one root cause) alerts once, on its first day,
  naming every dimension it shows in (service, account, team, customer);
- an open billing discrepancy alerts once per period x account x service x diagnosis;
- a budget alerts once per month when its forecast (or actual) crosses it.
"""

from __future__ import annotations

import polars as pl

from finops_dagster.alerts import Alert


def _usd(value) -> str:
    amount = float(value)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def anomaly_alerts(anomalies: pl.DataFrame) -> list[Alert]:
    firsts = anomalies.filter(pl.col("usage_date") == pl.col("episode_start"))
    alerts = []
    keys = ["episode_start", "root_cause_resource_id", "root_cause_usage_type", "direction"]
    for key, group in firsts.sort("dimension").group_by(keys, maintain_order=True):
        start, resource, usage_type, direction = key
        worst = group.sort("z_score", descending=direction == "increase").row(0, named=True)
        where = ", ".join(f"{r['dimension']} {r['dimension_value']} ({_usd(r['baseline_cost'])} -> "
                          f"{_usd(r['cost'])})" for r in group.iter_rows(named=True))
        text = (f":chart_with_upwards_trend: {worst['severity']} cost {direction} from {start}: {where}. "
                f"Root cause: usage type {usage_type} on {resource} ({worst['root_cause_tag']}, "
                f"{worst['root_cause_region']}), a {worst['change_driver']} change, "
                f"z={worst['z_score']}.")
        alerts.append(Alert(f"anomaly:{start}:{resource}:{usage_type}:{direction}", "anomaly", text))
    return alerts


def audit_alerts(audit: pl.DataFrame) -> list[Alert]:
    alerts = []
    for r in audit.filter(pl.col("status") == "open").iter_rows(named=True):
        period = f"{r['billing_period_start']:%Y-%m}"
        text = (f":mag: billing discrepancy {period} {r['sub_account_id']} {r['service_code']}: "
                f"{r['diagnosis']}, billed {_usd(r['billed_cost'])} vs expected {_usd(r['expected_cost'])} "
                f"({_usd(r['unexplained'])} unexplained"
                + (f", {_usd(r['unbilled_cost'])} of usage never billed" if r["unbilled_cost"] else "")
                + ").")
        alerts.append(Alert(f"audit:{period}:{r['sub_account_id']}:{r['service_code']}:{r['diagnosis']}",
                            "auditor", text))
    return alerts


def budget_alerts(status: pl.DataFrame) -> list[Alert]:
    alerts = []
    for r in status.filter(pl.col("alert")).iter_rows(named=True):
        month = f"{r['month_start']:%Y-%m}"
        text = (f":money_with_wings: budget {r['scope_type']} {r['scope_value']} {month}: forecast "
                f"{_usd(r['forecast'])} (80 %: {_usd(r['lower_80'])}-{_usd(r['upper_80'])}) against "
                f"{_usd(r['monthly_budget'])}, {r['breach_probability']:.0%} likely to breach; "
                f"{_usd(r['actual_to_date'])} spent so far.")
        alerts.append(Alert(f"budget:{r['scope_type']}:{r['scope_value']}:{month}", "budget", text))
    return alerts

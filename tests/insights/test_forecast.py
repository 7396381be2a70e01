"""Forecasts: intervals that cover a known series, one-off charges handled, and on the demo the
open month forecast per scope with Cost Explorer's beside it, a backtest and the budgets."""

import datetime as dt
from decimal import Decimal

import dagster as dg
import numpy as np
import polars as pl

from finops_dagster.demo import catalog as C
from finops_dagster.insights.forecast import Window, backtest, forecast_month


def _synthetic(days: int = 120, start: dt.date = dt.date(2026, 5, 1)) -> tuple[pl.DataFrame, np.ndarray]:
    """Weekdays ~$100, weekends ~$20 (noise +-5 %), $30 tax on each 1st, a one-off -$40 credit."""
    rng = np.random.default_rng(3)
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    usage = np.array([(20.0 if d.weekday() >= 5 else 100.0) * rng.uniform(0.95, 1.05) for d in dates])
    rows = [
        {"usage_date": d, "charge_category": "Usage", "cost": round(float(c), 4)}
        for d, c in zip(dates, usage, strict=True)
    ]
    rows += [{"usage_date": d, "charge_category": "Tax", "cost": 30.0} for d in dates if d.day == 1]
    rows.append({"usage_date": dt.date(2026, 6, 12), "charge_category": "Credit", "cost": -40.0})
    frame = pl.DataFrame(rows).with_columns(
        sub_account_id=pl.lit("1"),
        service_code=pl.lit("S"),
        team=pl.lit("t"),
        cost=pl.col("cost").cast(pl.Decimal(38, 10)),
    )
    return frame, usage


def test_the_month_end_interval_covers_a_weekly_series():
    daily, usage = _synthetic()
    as_of = dt.date(2026, 8, 12)  # mid-August; the data run to 2026-08-28
    fc = forecast_month(daily, Window(as_of)).filter(pl.col("scope_type") == "account").row(0, named=True)
    dates = [dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in range(len(usage))]
    first = dates.index(dt.date(2026, 8, 1))
    # the truth of the month: usage of every August day (extended past the data by the same pattern)
    rest = [
        20.0 if (dt.date(2026, 8, 1) + dt.timedelta(days=i)).weekday() >= 5 else 100.0
        for i in range(len(usage) - first, 31)
    ]
    truth = float(usage[first:].sum()) + sum(rest) + 30.0
    assert fc["month_start"] == dt.date(2026, 8, 1) and fc["remaining_days"] == 19
    assert fc["lower_95"] <= fc["lower_80"] <= fc["median"] <= fc["upper_80"] <= fc["upper_95"]
    assert fc["lower_95"] <= truth <= fc["upper_95"] and abs(fc["forecast"] - truth) / truth < 0.03
    assert fc["pending_recurring"] == 0  # August's tax has posted: it is in the actual
    assert abs(fc["actual_to_date"] - float(sum(r for r in usage[first : first + 12])) - 30.0) < 0.01


def test_tax_not_yet_posted_is_added_and_a_one_off_credit_is_not():
    daily, _ = _synthetic()
    fc = forecast_month(daily, Window(dt.date(2026, 6, 30))).filter(pl.col("scope_type") == "account")
    row = fc.row(0, named=True)
    assert row["month_start"] == dt.date(2026, 7, 1) and row["actual_to_date"] == 0
    assert row["pending_recurring"] == 30.0  # June's tax, expected again; June's credit was one-off
    monthly = pl.concat(
        [
            daily,
            daily.filter(pl.col("charge_category") == "Credit").with_columns(
                usage_date=pl.lit(dt.date(2026, 5, 12))
            ),
        ]
    )  # the credit came in May too: a monthly programme
    again = forecast_month(monthly, Window(dt.date(2026, 6, 30))).filter(pl.col("scope_type") == "account")
    assert again["pending_recurring"][0] == 30.0 - 40.0
    done = forecast_month(daily, Window(dt.date(2026, 7, 31))).filter(pl.col("scope_type") == "account")
    assert done["remaining_days"][0] == 31 and done["month_start"][0] == dt.date(2026, 8, 1)


def test_the_backtest_replays_complete_months_and_scores_them():
    daily, _ = _synthetic(days=92, start=dt.date(2026, 5, 1))  # May, June, July
    bt = backtest(daily, scope_types=("account",))
    assert sorted(set(zip(bt["month_start"], bt["cutoff_day"], strict=True))) == [
        (dt.date(2026, 6, 1), 0),
        (dt.date(2026, 6, 1), 10),
        (dt.date(2026, 6, 1), 20),
        (dt.date(2026, 7, 1), 0),
        (dt.date(2026, 7, 1), 10),
        (dt.date(2026, 7, 1), 20),
    ]
    july = bt.filter(pl.col("month_start") == dt.date(2026, 7, 1))
    assert july["in_95"].all() and (july["abs_pct_error"] < 3).all()  # a clean month is covered
    june = bt.filter((pl.col("month_start") == dt.date(2026, 6, 1)) & (pl.col("cutoff_day") < 12))
    assert (june["error"] > 20).all() and not june["in_95"].any()  # the one-off -$40 credit of the
    # 12th was not foreseen (nor should it be), and the backtest shows the miss


def test_the_backtest_keeps_each_months_replays_until_its_days_change(tmp_path, monkeypatch):
    """A refresh of the open month (the common refresh) replays no past month again; a changed
    day replays its month and the months after it, which saw it; results equal a fresh backtest."""
    from finops_dagster.insights import forecast as fc

    daily, _ = _synthetic(days=105, start=dt.date(2026, 5, 1))  # May, June, July, mid-August
    cache = tmp_path / "backtest"
    fresh = backtest(daily, scope_types=("account",))
    assert backtest(daily, scope_types=("account",), cache=cache).equals(fresh)
    assert len(list(cache.glob("*.parquet"))) == 2  # June and July (May has no history before it)

    replayed = []
    original = fc._replay_month
    monkeypatch.setattr(
        fc, "_replay_month", lambda known, month, *a: replayed.append(month) or original(known, month, *a)
    )
    open_month = daily.with_columns(
        cost=pl.when(pl.col("usage_date") == dt.date(2026, 8, 10)).then(pl.col("cost") * 2).otherwise("cost")
    )
    assert backtest(open_month, scope_types=("account",), cache=cache).equals(fresh) and replayed == []

    restated = daily.with_columns(
        cost=pl.when(pl.col("usage_date") == dt.date(2026, 6, 20)).then(pl.col("cost") * 2).otherwise("cost")
    )
    again = backtest(restated, scope_types=("account",), cache=cache)
    assert replayed == [dt.date(2026, 6, 1), dt.date(2026, 7, 1)]
    assert again.equals(backtest(restated, scope_types=("account",)))
    assert not again.equals(fresh)


def test_the_demo_forecasts_the_open_month_beside_cost_explorer(pipeline):
    settings, *_ = pipeline
    fc = pl.read_parquet(settings.data_dir / "exports" / "cost_forecast.parquet")
    assert set(fc["scope_type"]) == {"total", "account", "service", "team", "account_service"}
    assert (fc["as_of"] == C.DEMO_END).all() and (fc["month_start"] == dt.date(2026, 11, 1)).all()
    assert (fc["lower_95"] <= fc["lower_80"]).all() and (fc["upper_80"] <= fc["upper_95"]).all()
    total = fc.filter(pl.col("scope_type") == "total").row(0, named=True)
    assert total["ce_forecast"] is not None and total["ce_lower_80"] < total["ce_upper_80"]
    bt = pl.read_parquet(settings.data_dir / "exports" / "forecast_backtest.parquet")
    assert set(bt["month_start"]) == {dt.date(2026, 9, 1), dt.date(2026, 10, 1)}
    assert {"in_80", "in_95", "abs_pct_error"} <= set(bt.columns)
    # calibrated on the other month's replays only: the demo's raw 80 % intervals cover ~54 %
    assert bt["in_80"].mean() < 0.7 and 0.75 <= bt["in_80_calibrated"].mean() <= 0.85


def test_only_the_planted_budget_breaches(pipeline):
    settings, instance, *_ = pipeline
    status = pl.read_parquet(settings.data_dir / "exports" / "budget_status.parquet")
    assert len(status) == len(C.BUDGETS)
    scope, value, month = C.PLANTED_BUDGET_BREACH
    over = status.filter(pl.col("alert"))
    assert over.select("scope_type", "scope_value").rows() == [(scope, value)]
    # the probability reads the calibrated simulations: wide after the demo's planted spike
    assert over["breach_probability"][0] >= 0.9 and f"{over['month_start'][0]:%Y-%m}" == month
    assert (status.filter(~pl.col("alert"))["breach_probability"] < 0.05).all()
    budgets = {(t, v): Decimal(b) for t, v, b in C.BUDGETS}
    assert all(
        Decimal(str(r["monthly_budget"])) == budgets[(r["scope_type"], r["scope_value"])]
        for r in status.iter_rows(named=True)
    )
    event = instance.get_latest_materialization_event(dg.AssetKey("budget_status"))
    meta = event.asset_materialization.metadata
    assert meta["alerts"].value == 1

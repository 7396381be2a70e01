"""Month-end cost forecasts with prediction intervals, and their backtest.

Daily usage cost is modelled with statsmodels' ETS (additive error, additive weekly season), so
weekend dips are part of the model, not of the error. The month-end interval comes from the
model's own simulated paths summed over the remaining days (a sum of daily intervals would be
far too wide). Tax and credits are not daily spend: they are booked once a month, so the model
sees usage and purchases only, and the forecast adds last month's tax until this month's has
posted, and last month's credits when they recurred the month before too (a monthly credit
programme), never a one-off credit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

TRAIN_DAYS = 56  # eight weeks: enough for a weekly season, short enough to follow the level
MIN_TRAIN_DAYS = 21
REPETITIONS = 2000
ONE_OFF = ("Tax", "Credit")  # booked once a month, not modelled as daily spend
QUANTILES = {"lower_95": 0.025, "lower_80": 0.10, "median": 0.5, "upper_80": 0.90, "upper_95": 0.975}


@dataclass(frozen=True)
class Window:
    """The open month as seen on ``as_of`` (the last day with data)."""

    as_of: dt.date

    @property
    def month_start(self) -> dt.date:
        return (self.as_of + dt.timedelta(days=1)).replace(day=1)

    @property
    def month_end(self) -> dt.date:  # inclusive
        s = self.month_start
        return s.replace(day=calendar.monthrange(s.year, s.month)[1])

    @property
    def remaining_days(self) -> int:
        return (self.month_end - self.as_of).days


def simulate_totals(history: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
    """Simulated sums of the next ``horizon`` days of a daily series (one per repetition)."""
    if horizon <= 0:
        return np.zeros(REPETITIONS)
    y = np.asarray(history[-TRAIN_DAYS:], dtype=float)
    if len(y) < MIN_TRAIN_DAYS or np.ptp(y) < 1e-9:
        # too short to fit, or perfectly flat (an always-on fleet): the last week carries forward
        tail = y[-7:] if len(y) else np.zeros(1)
        return np.full(REPETITIONS, float(np.resize(tail, horizon).sum()))
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short, near-flat series
        fit = ETSModel(y, error="add", trend=None, seasonal="add", seasonal_periods=7).fit(disp=False)
        paths = fit.simulate(nsimulations=horizon, repetitions=REPETITIONS, anchor="end",
                             rng=np.random.default_rng(seed))
    paths = np.clip(np.asarray(paths, dtype=float).reshape(horizon, -1), 0, None)
    return paths.sum(axis=0)


SCOPES = {"total": pl.lit("all"), "account": pl.col("sub_account_id"),
          "service": pl.col("service_code"), "team": pl.col("team"),
          "account_service": pl.format("{}/{}", "sub_account_id", "service_code")}


def _scope_frames(daily: pl.DataFrame, scope_types: Iterable[str] = tuple(SCOPES)) -> pl.DataFrame:
    """daily (usage_date, sub_account_id, service_code, team, charge_category, cost) -> one row per
    scope x day, for the scopes budgets and forecasts use."""
    return pl.concat([
        daily.group_by(pl.lit(kind).alias("scope_type"), SCOPES[kind].alias("scope_value"), "usage_date",
                       "charge_category").agg(pl.col("cost").sum())
        for kind in scope_types])


def _pending_one_offs(one_offs: pl.DataFrame, month: dt.date, prev: dt.date, prev2: dt.date) -> float:
    """Tax and recurring credits of last month not yet booked this month."""
    pending = 0.0
    for category in ONE_OFF:
        rows = one_offs.filter(pl.col("charge_category") == category)
        if rows.filter(pl.col("usage_date") >= month).height:
            continue  # already booked this month: it is in the actual
        last = rows.filter(pl.col("usage_date").is_between(prev, month, closed="left"))
        before = rows.filter(pl.col("usage_date").is_between(prev2, prev, closed="left"))
        if category == "Credit" and before.is_empty():
            continue  # a one-off credit does not come back
        pending += float(last["cost"].sum() or 0)
    return pending


def forecast_month(daily: pl.DataFrame, window: Window, seed: int = 7,
                   scope_types: Iterable[str] = tuple(SCOPES)) -> pl.DataFrame:
    """Month-end forecast per scope (of ``scope_types``) for the open month of ``window``.

    ``daily`` holds the cost per day x account x service x team x charge category (Decimal).
    Returns actual to date, the expected recurring charges still to post, the usage forecast and
    the 80 % / 95 % intervals of the month-end total, plus the simulated totals for budgets.
    """
    frames = _scope_frames(daily.filter(pl.col("usage_date") <= window.as_of), scope_types)
    days = pl.date_range(frames["usage_date"].min(), window.as_of, eager=True).alias("usage_date")
    this_month = pl.col("usage_date") >= window.month_start
    prev_start = (window.month_start - dt.timedelta(days=1)).replace(day=1)
    prev2_start = (prev_start - dt.timedelta(days=1)).replace(day=1)
    one_off = pl.col("charge_category").is_in(ONE_OFF)
    rows = []
    for (kind, value), part in frames.group_by("scope_type", "scope_value", maintain_order=True):
        series = (pl.DataFrame(days).join(
            part.filter(~one_off).group_by("usage_date").agg(pl.col("cost").sum()),
            on="usage_date", how="left")
            .sort("usage_date")["cost"].cast(pl.Float64).fill_null(0).to_numpy())
        pending = 0.0 if window.remaining_days == 0 else _pending_one_offs(
            part.filter(one_off), window.month_start, prev_start, prev2_start)
        actual = float(part.filter(this_month)["cost"].sum() or 0)
        totals = actual + pending + simulate_totals(series, window.remaining_days, seed)
        q = np.quantile(totals, list(QUANTILES.values()))
        rows.append({"scope_type": kind, "scope_value": value, "actual_to_date": round(actual, 2),
                     "pending_recurring": round(pending, 2), "forecast": round(float(totals.mean()), 2),
                     **{k: round(float(v), 2) for k, v in zip(QUANTILES, q, strict=True)},
                     "simulated_totals": totals.round(2).tolist()})
    out = pl.DataFrame(rows)
    return out.with_columns(as_of=pl.lit(window.as_of), month_start=pl.lit(window.month_start),
                            remaining_days=pl.lit(window.remaining_days))


def backtest(daily: pl.DataFrame, cutoff_days: Iterable[int] = (0, 10, 20),
             scope_types: tuple[str, ...] = ("account", "service")) -> pl.DataFrame:
    """Replay every complete month that has at least 28 days of history before its first cut-off:
    forecast its total as seen on the cut-off day (day 0 = the eve of the month) and compare with
    what it cost. One row per month x cut-off x scope."""
    first, last = daily["usage_date"].min(), daily["usage_date"].max()
    actual = _scope_frames(daily, scope_types)
    rows = []
    month = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    while True:
        end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        if end > last:
            break
        for cut in cutoff_days:
            as_of = month + dt.timedelta(days=cut - 1)
            if (as_of - first).days + 1 < 28:
                continue
            fc = forecast_month(daily, Window(as_of), scope_types=scope_types)
            truth = actual.filter(pl.col("usage_date").is_between(month, end)).group_by(
                "scope_type", "scope_value").agg(actual_total=pl.col("cost").sum().cast(pl.Float64))
            joined = fc.drop("simulated_totals").join(truth, on=["scope_type", "scope_value"], how="left")
            rows.append(joined.with_columns(cutoff_day=pl.lit(cut),
                                            actual_total=pl.col("actual_total").fill_null(0)))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    if not rows:
        return pl.DataFrame()
    out = pl.concat(rows)
    return out.with_columns(
        error=pl.col("forecast") - pl.col("actual_total"),
        abs_pct_error=((pl.col("forecast") - pl.col("actual_total")).abs()
                       / pl.col("actual_total").abs().clip(lower_bound=1.0) * 100).round(2),
        in_80=pl.col("actual_total").is_between(pl.col("lower_80") - 0.005, pl.col("upper_80") + 0.005),
        in_95=pl.col("actual_total").is_between(pl.col("lower_95") - 0.005, pl.col("upper_95") + 0.005),
    )


DAILY_COST_SQL = """
    select usage_date, sub_account_id, service_code,
        coalesce(tag_team, cost_category_team, 'unallocated') as team, charge_category,
        sum(effective_cost) as cost
    from fct_daily_cost
    group by all
    order by all
"""


def load_daily_costs(con) -> pl.DataFrame:
    """Effective cost per day x account x service x team x charge category from the warehouse."""
    return con.sql(DAILY_COST_SQL).pl()


def with_cost_explorer(forecast: pl.DataFrame, ce: pl.DataFrame | None) -> pl.DataFrame:
    """Cost Explorer's own forecast (GetCostForecast, unblended, 80 %) beside ours: for an account
    it was asked for, else (the payer's default credentials) for the total, over the same days."""
    cols = {"ce_forecast": pl.Float64, "ce_lower_80": pl.Float64, "ce_upper_80": pl.Float64}
    if ce is None or ce.is_empty():
        return forecast.with_columns([pl.lit(None, t).alias(c) for c, t in cols.items()])
    month_start, as_of = forecast["month_start"][0], forecast["as_of"][0]
    accounts = set(forecast.filter(pl.col("scope_type") == "account")["scope_value"])
    rest = ce.filter(pl.col("forecast_date") > as_of, pl.col("forecast_date") >= month_start,
                     pl.col("forecast_date") < (month_start + dt.timedelta(days=32)).replace(day=1))
    sums = rest.group_by(
        scope_type=pl.when(pl.col("source_account").is_in(accounts)).then(pl.lit("account"))
        .otherwise(pl.lit("total")),
        scope_value=pl.when(pl.col("source_account").is_in(accounts)).then("source_account")
        .otherwise(pl.lit("all")),
    ).agg(*[pl.col(src).cast(pl.Float64).sum().alias(name)
            for name, src in zip(cols, ("mean", "lower_80", "upper_80"), strict=True)])
    joined = forecast.join(sums, on=["scope_type", "scope_value"], how="left")
    return joined.with_columns([(pl.col(c) + pl.col("actual_to_date")).round(2) for c in cols])

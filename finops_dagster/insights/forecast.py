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
from pathlib import Path

import numpy as np
import polars as pl

from finops_dagster import warm_imports
from finops_dagster.memo import code_digest, frame_digest, memoized

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
    ETSModel = warm_imports.load(warm_imports.ETS).ETSModel  # noqa: N806 - a class

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short, near-flat series
        fit = ETSModel(y, error="add", trend=None, seasonal="add", seasonal_periods=7).fit(disp=False)
        paths = fit.simulate(
            nsimulations=horizon, repetitions=REPETITIONS, anchor="end", rng=np.random.default_rng(seed)
        )
    paths = np.clip(np.asarray(paths, dtype=float).reshape(horizon, -1), 0, None)
    return paths.sum(axis=0)


SCOPES = {
    "total": pl.lit("all"),
    "account": pl.col("sub_account_id"),
    "service": pl.col("service_code"),
    "team": pl.col("team"),
    "account_service": pl.format("{}/{}", "sub_account_id", "service_code"),
}


def _scope_frames(
    daily: pl.DataFrame, scope_types: Iterable[str] = tuple(SCOPES), modelled: str = "cost"
) -> pl.DataFrame:
    """daily (usage_date, sub_account_id, service_code, team, charge_category, cost[, model_cost])
    -> one row per scope x day, for the scopes budgets and forecasts use."""
    sums = [pl.col(c).sum() for c in dict.fromkeys(("cost", modelled))]
    return pl.concat(
        [
            daily.group_by(
                pl.lit(kind).alias("scope_type"),
                SCOPES[kind].alias("scope_value"),
                "usage_date",
                "charge_category",
            ).agg(*sums)
            for kind in scope_types
        ]
    )


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


def forecast_month(
    daily: pl.DataFrame, window: Window, seed: int = 7, scope_types: Iterable[str] = tuple(SCOPES)
) -> pl.DataFrame:
    """Month-end forecast per scope (of ``scope_types``) for the open month of ``window``.

    ``daily`` holds the cost per day x account x service x team x charge category (Decimal).
    Returns actual to date, the expected recurring charges still to post, the usage forecast and
    the 80 % / 95 % intervals of the month-end total, plus the simulated totals for budgets.
    """
    # ``model_cost`` (when given) is what the model extrapolates: the cost without one-off fees
    modelled = "model_cost" if "model_cost" in daily.columns else "cost"
    frames = _scope_frames(daily.filter(pl.col("usage_date") <= window.as_of), scope_types, modelled)
    days = pl.date_range(frames["usage_date"].min(), window.as_of, eager=True).alias("usage_date")
    this_month = pl.col("usage_date") >= window.month_start
    prev_start = (window.month_start - dt.timedelta(days=1)).replace(day=1)
    prev2_start = (prev_start - dt.timedelta(days=1)).replace(day=1)
    one_off = pl.col("charge_category").is_in(ONE_OFF)
    rows = []
    for (kind, value), part in frames.group_by("scope_type", "scope_value", maintain_order=True):
        series = (
            pl.DataFrame(days)
            .join(
                part.filter(~one_off).group_by("usage_date").agg(pl.col(modelled).sum().alias("cost")),
                on="usage_date",
                how="left",
            )
            .sort("usage_date")["cost"]
            .cast(pl.Float64)
            .fill_null(0)
            .to_numpy()
        )
        pending = (
            0.0
            if window.remaining_days == 0
            else _pending_one_offs(part.filter(one_off), window.month_start, prev_start, prev2_start)
        )
        actual = float(part.filter(this_month)["cost"].sum() or 0)
        totals = actual + pending + simulate_totals(series, window.remaining_days, seed)
        q = np.quantile(totals, list(QUANTILES.values()))
        rows.append(
            {
                "scope_type": kind,
                "scope_value": value,
                "actual_to_date": round(actual, 2),
                "pending_recurring": round(pending, 2),
                "forecast": round(float(totals.mean()), 2),
                **{k: round(float(v), 2) for k, v in zip(QUANTILES, q, strict=True)},
                "simulated_totals": totals.round(2).tolist(),
            }
        )
    out = pl.DataFrame(rows)
    return out.with_columns(
        as_of=pl.lit(window.as_of),
        month_start=pl.lit(window.month_start),
        remaining_days=pl.lit(window.remaining_days),
    )


def backtest(
    daily: pl.DataFrame,
    cutoff_days: Iterable[int] = (0, 10, 20),
    scope_types: tuple[str, ...] = ("account", "service"),
    cache: Path | None = None,
) -> pl.DataFrame:
    """Replay every complete month that has at least 28 days of history before its first cut-off:
    forecast its total as seen on the cut-off day (day 0 = the eve of the month) and compare with
    what it cost. One row per month x cut-off x scope. A month's replays read no day after it, so
    with a ``cache`` folder they are kept under the digest of the days up to its end (and of this
    code): a refresh of the open month replays nothing again."""
    first, last = daily["usage_date"].min(), daily["usage_date"].max()
    cutoff_days, code = tuple(cutoff_days), _code() if cache else ""
    rows, seen, digest = [], first - dt.timedelta(days=1), ""
    month = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    while True:
        end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        if end > last:
            break
        known = daily.filter(pl.col("usage_date") <= end)
        if cache:  # the days up to the month's end: the digest so far, chained with its new days'
            digest = frame_digest(known.filter(pl.col("usage_date") > seen), digest)
            seen = end
        key = [code, str(month), repr(cutoff_days), repr(scope_types), digest] if cache else []
        replays = memoized(
            cache, key, lambda known=known, month=month: _replay_month(known, month, cutoff_days, scope_types)
        )
        if replays.width:
            rows.append(replays)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    if not rows:
        return pl.DataFrame()
    out = pl.concat(rows)
    return out.with_columns(
        error=pl.col("forecast") - pl.col("actual_total"),
        abs_pct_error=(
            (pl.col("forecast") - pl.col("actual_total")).abs()
            / pl.col("actual_total").abs().clip(lower_bound=1.0)
            * 100
        ).round(2),
        in_80=pl.col("actual_total").is_between(pl.col("lower_80") - 0.005, pl.col("upper_80") + 0.005),
        in_95=pl.col("actual_total").is_between(pl.col("lower_95") - 0.005, pl.col("upper_95") + 0.005),
    )


LEVELS = {"80": ("lower_80", "upper_80", 0.80), "95": ("lower_95", "upper_95", 0.95)}
MIN_REPLAYS = 30  # fewer past replays than this in a group: pool more widely (a conformal
# quantile over a handful of replays is set by its one or two wildest months)
# a half-width is never taken as narrower than this share of the median: a flat series gives the
# model a zero-width interval, which no factor could stretch and every error would blow up
MIN_RELATIVE_WIDTH = 0.02


def _half_width(side: pl.Expr) -> pl.Expr:
    return pl.max_horizontal(side, pl.col("median").abs() * MIN_RELATIVE_WIDTH, pl.lit(1.0))


def _horizon(col: str = "remaining_days") -> pl.Expr:
    """Forecast horizon bucket: about a month, about 20 days, about 10 days or fewer to go."""
    return pl.min_horizontal(pl.col(col) // 10, pl.lit(3)).alias("horizon")


def _scores(replays: pl.DataFrame) -> pl.DataFrame:
    """How far outside (> 1) or inside (< 1) each replay's interval the actual total fell, in
    units of the interval's half-width on the actual's side of the median."""
    out = replays
    for name, (lo, hi, _) in LEVELS.items():
        above = pl.col("actual_total") >= pl.col("median")
        width = _half_width(
            pl.when(above).then(pl.col(hi) - pl.col("median")).otherwise(pl.col("median") - pl.col(lo))
        )
        out = out.with_columns(
            ((pl.col("actual_total") - pl.col("median")).abs() / width).alias(f"score_{name}")
        )
    return out.with_columns(_horizon())


def _factor(scores: list[float], level: float) -> float:
    """Split-conformal quantile: the ceil((n + 1) * level)-th smallest score (n >= 1)."""
    ordered = sorted(scores)
    rank = min(len(ordered), int(np.ceil((len(ordered) + 1) * level)))
    return float(ordered[rank - 1])


def conformal_factors(replays: pl.DataFrame) -> pl.DataFrame:
    """Per scope type x horizon: the factor that stretches (or shrinks) the model's 80 % and 95 %
    half-widths so they cover that share of the past replays (ETS intervals alone covered 41 %
    at 80 % on real-shaped data: level shifts, credits and spikes are not in its error model).
    Groups with fewer than MIN_REPLAYS pool over horizons, then over everything."""
    if replays.is_empty():
        return pl.DataFrame(
            schema={
                "scope_type": pl.String,
                "horizon": pl.Int64,
                "replays": pl.Int64,
                "factor_80": pl.Float64,
                "factor_95": pl.Float64,
            }
        )
    scored = _scores(replays)
    everything = scored
    rows = []
    for (kind, horizon), group in scored.group_by("scope_type", "horizon"):
        for pool in (group, everything.filter(pl.col("scope_type") == kind), everything):
            if pool.height >= MIN_REPLAYS or pool is everything:
                break
        rows.append(
            {
                "scope_type": kind,
                "horizon": horizon,
                "replays": pool.height,
                **{
                    f"factor_{n}": _factor(pool[f"score_{n}"].to_list(), lvl)
                    for n, (_, _, lvl) in LEVELS.items()
                },
            }
        )
    return pl.DataFrame(rows).sort("scope_type", "horizon")


def calibrate(forecast: pl.DataFrame, factors: pl.DataFrame) -> pl.DataFrame:
    """The forecast's intervals scaled around its median by the factors of its scope type and
    horizon (scope types or horizons never replayed use the pooled factor; none at all: as is).
    The simulated totals (budgets' breach probability) are stretched on each side as its 80 % bound was."""
    if factors.is_empty():
        return forecast.with_columns(
            factor_80=pl.lit(1.0), factor_95=pl.lit(1.0), calibration_replays=pl.lit(0, pl.Int64)
        )
    pooled = factors.select(
        pl.col("factor_80").median(), pl.col("factor_95").median(), pl.col("replays").max()
    ).row(0)
    out = (
        forecast.with_columns(_horizon())
        .join(factors.rename({"replays": "calibration_replays"}), on=["scope_type", "horizon"], how="left")
        .with_columns(
            pl.col("factor_80").fill_null(pooled[0]),
            pl.col("factor_95").fill_null(pooled[1]),
            pl.col("calibration_replays").fill_null(pooled[2]),
        )
        .drop("horizon")
    )
    out = out.with_columns(_raw_lo=pl.col("lower_80"), _raw_hi=pl.col("upper_80"))
    for name, (lo, hi, _) in LEVELS.items():
        k = pl.col(f"factor_{name}")
        out = out.with_columns(
            (pl.col("median") - k * _half_width(pl.col("median") - pl.col(lo))).round(2).alias(lo),
            (pl.col("median") + k * _half_width(pl.col(hi) - pl.col("median"))).round(2).alias(hi),
        )
    if "simulated_totals" in out.columns:  # each side stretched as its 80 % bound was
        totals, median = pl.col("simulated_totals"), pl.col("median")
        up = (pl.col("upper_80") - median) / pl.max_horizontal(pl.col("_raw_hi") - median, pl.lit(1e-9))
        down = (median - pl.col("lower_80")) / pl.max_horizontal(median - pl.col("_raw_lo"), pl.lit(1e-9))
        scaled = (
            out.with_row_index("_row")
            .select("_row", median, up.alias("_up"), down.alias("_down"), totals)
            .explode(totals)
            .group_by("_row", maintain_order=True)
            .agg(
                (median + (totals - median) * pl.when(totals > median).then("_up").otherwise("_down"))
                .round(2)
                .alias("simulated_totals")
            )
        )
        out = out.with_columns(simulated_totals=scaled.sort("_row")["simulated_totals"])
    return out.drop("_raw_lo", "_raw_hi")


def leave_one_month_out(replays: pl.DataFrame) -> pl.DataFrame:
    """Each replayed month's intervals calibrated on the *other* months' replays only: an honest,
    out-of-sample measure of the calibrated coverage (in_80_calibrated, in_95_calibrated)."""
    replays = replays.sort("month_start", maintain_order=True)
    months = replays["month_start"].unique().sort().to_list()
    parts = []
    for month in months:
        same = pl.col("month_start") == month
        this, others = replays.filter(same), replays.filter(~same)
        parts.append(
            calibrate(this, conformal_factors(others)).select(
                *[pl.col(c).alias(f"{c}_calibrated") for n in LEVELS for c in LEVELS[n][:2]],
                "factor_80",
                "factor_95",
            )
        )
    out = pl.concat([replays, pl.concat(parts)], how="horizontal")
    return out.with_columns(
        **{
            f"in_{n}_calibrated": pl.col("actual_total").is_between(
                pl.col(f"{lo}_calibrated") - 0.005, pl.col(f"{hi}_calibrated") + 0.005
            )
            for n, (lo, hi, _) in LEVELS.items()
        }
    )


DAILY_COST_SQL = """
    select usage_date, sub_account_id, service_code,
        coalesce(tag_team, cost_category_team, 'unallocated') as team, charge_category,
        sum(effective_cost) as cost
    from fct_daily_cost
    group by all
    order by all
"""


def _replay_month(
    known: pl.DataFrame, month: dt.date, cutoff_days: tuple[int, ...], scope_types: tuple[str, ...]
) -> pl.DataFrame:
    """The month's replays from the days up to its end (``known``): none when no cut-off has 28
    days of history before it."""
    first = known["usage_date"].min()
    truth = (
        _scope_frames(known.filter(pl.col("usage_date") >= month), scope_types)
        .group_by("scope_type", "scope_value")
        .agg(actual_total=pl.col("cost").sum().cast(pl.Float64))
    )
    rows = []
    for cut in cutoff_days:
        as_of = month + dt.timedelta(days=cut - 1)
        if (as_of - first).days + 1 < 28:
            continue
        fc = forecast_month(known, Window(as_of), scope_types=scope_types)
        joined = fc.drop("simulated_totals").join(truth, on=["scope_type", "scope_value"], how="left")
        rows.append(
            joined.with_columns(cutoff_day=pl.lit(cut), actual_total=pl.col("actual_total").fill_null(0))
        )
    return pl.concat(rows) if rows else pl.DataFrame()


def _code() -> str:
    return code_digest([Path(__file__)], ("numpy", "polars", "statsmodels"))


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
    rest = ce.filter(
        pl.col("forecast_date") > as_of,
        pl.col("forecast_date") >= month_start,
        pl.col("forecast_date") < (month_start + dt.timedelta(days=32)).replace(day=1),
    )
    sums = rest.group_by(
        scope_type=pl.when(pl.col("source_account").is_in(accounts))
        .then(pl.lit("account"))
        .otherwise(pl.lit("total")),
        scope_value=pl.when(pl.col("source_account").is_in(accounts))
        .then("source_account")
        .otherwise(pl.lit("all")),
    ).agg(
        *[
            pl.col(src).cast(pl.Float64).sum().alias(name)
            for name, src in zip(cols, ("mean", "lower_80", "upper_80"), strict=True)
        ]
    )
    joined = forecast.join(sums, on=["scope_type", "scope_value"], how="left")
    return joined.with_columns([(pl.col(c) + pl.col("actual_to_date")).round(2) for c in cols])

"""Calibrated forecast intervals (issue 16: the ETS intervals covered 41 % of backtest replays at
80 % and 50 % at 95 % on real-shaped data). Independent data with what real bills have and the
model's error term does not: level shifts, one-off credits, spikes, a price change, monthly tax.
Each replayed month is calibrated on the other months' replays only (leave one month out), so
the coverage measured here is out of sample."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from finops_dagster.insights import forecast as fc

START, END = dt.date(2025, 12, 1), dt.date(2026, 7, 31)


def _daily(seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    rows = []
    for account, base, shape in [
        ("111", 900, "steady"),
        ("222", 600, "shifts"),
        ("333", 400, "credits"),
        ("444", 700, "spikes"),
        ("555", 500, "price_change"),
        ("666", 300, "growth"),
    ]:
        level, spike_left = base, 0
        for i, day in enumerate(days):
            if shape == "shifts" and rng.random() < 0.02:
                level *= rng.choice([0.75, 1.3])
            if shape == "spikes" and spike_left == 0 and rng.random() < 0.04:
                spike_left = 3
            if shape == "price_change" and day == dt.date(2026, 3, 16):
                level *= 0.8
            if shape == "growth":
                level = base * (1 + 0.004 * i)
            cost = level * (0.7 if day.isoweekday() > 5 else 1.0) * (1 + rng.normal(0, 0.06))
            if spike_left:
                cost, spike_left = cost * 2.2, spike_left - 1
            rows.append((day, account, "AmazonEC2", "web", "Usage", cost))
            if day.day == 1:
                rows.append((day, account, "Tax", "web", "Tax", base * 30 * 0.07))
            if shape == "credits" and day in (dt.date(2026, 2, 10), dt.date(2026, 5, 3)):
                rows.append((day, account, "AmazonEC2", "web", "Credit", -base * 6))
    return pl.DataFrame(
        rows,
        orient="row",
        schema=["usage_date", "sub_account_id", "service_code", "team", "charge_category", "cost"],
    ).with_columns(
        pl.col("cost").round(2).map_elements(lambda v: Decimal(str(v)), return_dtype=pl.Decimal(38, 10))
    )


@pytest.fixture(scope="module")
def replays():
    return fc.leave_one_month_out(fc.backtest(_daily(), scope_types=("account",)))


def test_calibrated_80_percent_intervals_cover_75_to_85_percent_out_of_sample(replays):
    raw80, cal80 = replays["in_80"].mean(), replays["in_80_calibrated"].mean()
    cal95 = replays["in_95_calibrated"].mean()
    assert replays.height >= 100
    assert 0.75 <= cal80 <= 0.85, (raw80, cal80)
    assert 0.90 <= cal95 <= 0.99, cal95


def test_the_live_forecast_uses_every_replay_and_scales_its_simulations(replays):
    factors = fc.conformal_factors(replays)
    assert set(factors["scope_type"]) == {"account"} and (factors["replays"] >= fc.MIN_REPLAYS).all()
    assert factors["factor_80"].is_between(0.5, 5).all()
    live = fc.forecast_month(_daily(), fc.Window(dt.date(2026, 7, 31)), scope_types=("account",))
    calibrated = fc.calibrate(live, factors)
    for before, after in zip(live.iter_rows(named=True), calibrated.iter_rows(named=True), strict=True):
        k = after["factor_80"]
        floor = max(abs(before["median"]) * fc.MIN_RELATIVE_WIDTH, 1.0)  # a flat series' zero width
        want = k * max(before["upper_80"] - before["median"], floor)
        assert after["upper_80"] - after["median"] == pytest.approx(want, abs=0.02)
        sims = np.array(after["simulated_totals"])  # budgets read these: the same calibration
        assert np.quantile(sims, 0.9) == pytest.approx(after["upper_80"], rel=0.01)


def test_calibration_moves_every_cut_off_day_toward_80_percent(replays):
    """The model's own intervals are too narrow on every horizon; calibrated, each is nearer the
    stated level (the figures docs/accuracy.md quotes come from bench/accuracy.py)."""
    by_cut = replays.group_by("cutoff_day").agg(
        pl.col("in_80").mean().alias("raw"), pl.col("in_80_calibrated").mean().alias("calibrated")
    )
    for cut, raw, calibrated in by_cut.iter_rows():
        assert raw < 0.75 and abs(calibrated - 0.8) < abs(raw - 0.8), (cut, raw, calibrated)

"""Deterministic CUR 2.0 export generator with known ground truth.

Writes the export exactly as AWS Data Exports lays it out in S3 (a local folder mirrors the
bucket), so the same files can be read from disk or uploaded to an S3 endpoint:

    <out>/s3/<bucket>/<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-0000N.snappy.parquet
    <out>/s3/<bucket>/<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json
    <out>/truth.json

Every frame is built with vectorized Polars expressions; costs are integer 1e-8 USD units
until written, so the truth sums are exact. ``scale`` multiplies the EC2 fleet: scale 1 is
~15k line items a month, scale ~1400 is ~20M for benchmarks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from finops_dagster.demo import catalog as C
from finops_dagster.demo.lines import daily_services, monthly_lines, planted_lines
from finops_dagster.settings import DEMO_BUCKET, DEMO_EXPORT, DEMO_PREFIX
from finops_dagster.sources.cur_layout import period_bounds

log = logging.getLogger(__name__)

TAG_MAP = pl.Map(pl.String, pl.String)
LEGACY_REPORT = "finops-demo-legacy"
_CATEGORIES = ("identity", "bill", "line_item", "product", "pricing", "savings_plan", "reservation")
UNIT_COLUMNS = {  # written column -> integer-unit column it is derived from
    "line_item_unblended_cost": "unblended_u",
    "line_item_blended_cost": "unblended_u",
    "line_item_net_unblended_cost": "unblended_u",
    "line_item_unblended_rate": "rate_u",
    "pricing_public_on_demand_cost": "list_u",
    "pricing_public_on_demand_rate": "list_rate_u",
    "savings_plan_savings_plan_effective_cost": "sp_eff_u",
    "savings_plan_total_commitment_to_date": "sp_total_u",
    "savings_plan_used_commitment": "sp_used_u",
    "savings_plan_amortized_upfront_commitment_for_billing_period": "sp_amort_u",
    "savings_plan_recurring_commitment_for_billing_period": "sp_recurring_u",
    "reservation_effective_cost": "ri_eff_u",
    "reservation_amortized_upfront_fee_for_billing_period": "ri_amort_u",
    "reservation_unused_amortized_upfront_fee_for_billing_period": "ri_unused_amort_u",
    "reservation_unused_recurring_fee": "ri_unused_rec_u",
}
INT_DEFAULTS = sorted(set(UNIT_COLUMNS.values()) | {"effective_u", "true_up_u"})


@dataclass(frozen=True)
class DemoConfig:
    out_dir: Path
    seed: int = 42
    scale: int = 1
    rows_per_file: int = 10_000
    periods: tuple[str, ...] = C.BILLING_PERIODS
    flavor: str = "cur2"  # or "legacy": lineItem/UnblendedCost names, legacy folder layout

    @property
    def export_name(self) -> str:
        return DEMO_EXPORT if self.flavor == "cur2" else LEGACY_REPORT

    @property
    def export_root(self) -> Path:
        return self.out_dir / "s3" / DEMO_BUCKET / DEMO_PREFIX / self.export_name


def _fleet(scale: int) -> pl.DataFrame:
    rows = [
        {
            "account": i.account,
            "name": f"{i.name}" if k == 0 else f"{i.name}-{k}",
            "instance_type": i.instance_type,
            "pricing": i.pricing,
            "tags": [{"key": t, "value": v} for t, v in i.tags.items()],
        }
        for k in range(scale)
        for i in C.INSTANCES
    ]
    fleet = pl.DataFrame(
        rows, schema_overrides={"tags": pl.List(pl.Struct({"key": pl.String, "value": pl.String}))}
    )
    rates = pl.DataFrame(
        {"instance_type": list(C.INSTANCE_RATES_UNITS), "rate_u": list(C.INSTANCE_RATES_UNITS.values())}
    )
    return fleet.join(rates, on="instance_type").with_columns(
        resource_id=pl.format(
            "i-{}", pl.concat_str("account", "name").hash(7).cast(pl.String).str.slice(0, 17)
        )
    )


def _ec2_hours(fleet: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    hours = pl.DataFrame({"hour": np.arange(24, dtype=np.int64)})
    base = fleet.join(hours, how="cross").with_columns(
        start=pl.lit(dt.datetime.combine(day, dt.time())) + pl.duration(hours=pl.col("hour")),
        product_code=pl.lit("AmazonEC2"),
        usage_type=pl.format("BoxUsage:{}", "instance_type"),
        usage_amount=pl.lit(1.0),
        list_u="rate_u",
        list_rate_u="rate_u",
    )
    sp_eff = pl.col("rate_u") * (100 - C.SP_DISCOUNT_PCT) // 100
    ri_eff = C.RI_AMORTIZED_UPFRONT_UNITS + C.RI_RECURRING_UNITS
    usage = base.with_columns(
        line_item_type=pl.when(pl.col("pricing") == "sp")
        .then(pl.lit("SavingsPlanCoveredUsage"))
        .when(pl.col("pricing") == "ri")
        .then(pl.lit("DiscountedUsage"))
        .otherwise(pl.lit("Usage")),
        unblended_u=pl.when(pl.col("pricing") == "ri").then(0).otherwise("rate_u"),
        sp_eff_u=pl.when(pl.col("pricing") == "sp").then(sp_eff).otherwise(0),
        ri_eff_u=pl.when(pl.col("pricing") == "ri").then(pl.lit(ri_eff)).otherwise(0),
    ).with_columns(
        effective_u=pl.when(pl.col("pricing") == "sp")
        .then("sp_eff_u")
        .when(pl.col("pricing") == "ri")
        .then("ri_eff_u")
        .otherwise("unblended_u"),
        rate_u=pl.when(pl.col("pricing") == "ri").then(0).otherwise("rate_u"),
    )
    negation = base.filter(pl.col("pricing") == "sp").with_columns(
        line_item_type=pl.lit("SavingsPlanNegation"),
        unblended_u=-pl.col("rate_u"),
        rate_u=-pl.col("rate_u"),
        list_u=pl.lit(0),
        effective_u=pl.lit(0),
    )
    used = usage.group_by("hour", "start").agg(
        sp_used_u=pl.col("sp_eff_u").sum(), account=pl.lit("111111111111")
    )
    total = pl.col("sp_used_u") + C.SP_SLACK_UNITS
    sp_fee = (
        used.with_columns(
            line_item_type=pl.lit("SavingsPlanRecurringFee"),
            product_code=pl.lit("ComputeSavingsPlans"),
            usage_type=pl.lit("ComputeSP:1yrPartialUpfront"),
            usage_amount=pl.lit(1.0),
            resource_id=pl.lit("arn:aws:savingsplans::111111111111:savingsplan/demo-sp-1"),
            sp_total_u=total,
            sp_amort_u=total * C.SP_UPFRONT_PCT // 100,
        )
        .with_columns(
            sp_recurring_u=pl.col("sp_total_u") - pl.col("sp_amort_u"),
            effective_u=pl.col("sp_total_u") - pl.col("sp_used_u"),
            true_up_u=-pl.col("sp_amort_u"),
        )
        .with_columns(unblended_u="sp_recurring_u", rate_u="sp_recurring_u")
    )
    return pl.concat([usage, negation, sp_fee], how="diagonal_relaxed").with_columns(
        end=pl.col("start") + pl.duration(hours=1)
    )


def build_day(
    day: dt.date, period: str, fleet: pl.DataFrame, rng: np.random.Generator, scale: int
) -> pl.DataFrame:
    """All line items whose usage starts on ``day``, with integer truth columns kept."""
    p_start, p_end = period_bounds(period)
    parts = [
        _ec2_hours(fleet, day),
        daily_services(day, rng),
        monthly_lines(day, p_end, scale),
        planted_lines(day),
    ]
    df = pl.concat([p for p in parts if p.height], how="diagonal_relaxed")
    df = df.with_columns(
        [
            pl.col(c).fill_null(0).cast(pl.Int64) if c in df.columns else pl.lit(0, pl.Int64).alias(c)
            for c in INT_DEFAULTS
        ]
    )
    if day == C.MISSING_DAY["date"]:
        df = df.filter(pl.col("account") != C.MISSING_DAY["account"])
    return df.with_columns(
        period_start=pl.lit(dt.datetime.combine(p_start, dt.time())),
        period_end=pl.lit(dt.datetime.combine(p_end, dt.time())),
    )


def to_cur2(df: pl.DataFrame) -> pl.DataFrame:
    """Map the generator's frame onto CUR 2.0 column names and types."""
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return df.select(
        identity_line_item_id=pl.concat_str(
            "account",
            "resource_id",
            "line_item_type",
            "usage_type",
            pl.col("start").cast(pl.String),
            pl.when(pl.col("usage_amount") == 0).then(pl.lit("nq")).otherwise(pl.lit("")),
        )
        .hash(11)
        .cast(pl.String),
        identity_time_interval=pl.format(
            "{}/{}", pl.col("start").dt.strftime(iso), pl.col("end").dt.strftime(iso)
        ),
        bill_bill_type=pl.lit("Anniversary"),
        bill_billing_entity=pl.lit("AWS"),
        bill_billing_period_start_date="period_start",
        bill_billing_period_end_date="period_end",
        bill_payer_account_id=pl.lit(C.PAYER_ACCOUNT),
        line_item_usage_account_id="account",
        line_item_usage_account_name=pl.col("account").replace_strict(C.ACCOUNTS),
        line_item_line_item_type="line_item_type",
        line_item_usage_start_date="start",
        line_item_usage_end_date="end",
        line_item_product_code="product_code",
        line_item_usage_type="usage_type",
        line_item_operation=pl.lit("RunInstances"),
        line_item_availability_zone=pl.lit("us-east-1a"),
        line_item_resource_id="resource_id",
        line_item_usage_amount="usage_amount",
        line_item_currency_code=pl.lit("USD"),
        line_item_line_item_description=pl.format("{} {}", "line_item_type", "usage_type"),
        product_product_name=pl.col("product_code").replace(C.SERVICE_NAMES),
        product_region_code=pl.lit("us-east-1"),
        product_instance_type=(
            pl.col("instance_type") if "instance_type" in df.columns else pl.lit(None, pl.String)
        ),
        pricing_term=pl.when(pl.col("line_item_type") == "Usage")
        .then(pl.lit("OnDemand"))
        .otherwise(pl.lit("")),
        pricing_unit=pl.lit("Hrs"),
        savings_plan_savings_plan_a_r_n=pl.when(pl.col("line_item_type").str.starts_with("SavingsPlan"))
        .then(pl.lit("arn:aws:savingsplans::111111111111:savingsplan/demo-sp-1"))
        .otherwise(pl.lit("")),
        reservation_reservation_a_r_n=pl.when(pl.col("line_item_type").is_in(["DiscountedUsage", "RIFee"]))
        .then(pl.lit("arn:aws:ec2:us-east-1:111111111111:reserved-instances/demo-ri-1"))
        .otherwise(pl.lit("")),
        cost_category=pl.concat_list(
            [
                pl.struct(
                    key=pl.lit(name),
                    value=pl.col("account").replace_strict(
                        {a: cats[name] for a, cats in C.COST_CATEGORIES.items()}
                    ),
                )
                for name in ("BusinessUnit", "Environment")
            ]
        ).cast(TAG_MAP),
        resource_tags=(pl.col("tags") if "tags" in df.columns else pl.lit(None))
        .cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
        .fill_null([])
        .cast(TAG_MAP),
        **{name: pl.col(src).cast(pl.Float64) / C.UNITS_PER_USD for name, src in UNIT_COLUMNS.items()},
    )


def _truth_rows(df: pl.DataFrame) -> pl.DataFrame:
    return df.group_by(date=pl.col("start").dt.date(), account="account").agg(
        rows=pl.len(),
        unblended_u=pl.col("unblended_u").sum(),
        effective_u=pl.col("effective_u").sum(),
        true_up_u=pl.col("true_up_u").sum(),
    )


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """CUR 2.0 CSV carries map columns as JSON text."""

    def as_json(column: str) -> pl.Expr:
        entries = pl.col(column).cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
        return pl.format(
            "{{{}}}",
            entries.list.eval(
                pl.format('"{}":"{}"', pl.element().struct.field("key"), pl.element().struct.field("value"))
            ).list.join(","),
        ).alias(column)

    return df.with_columns(as_json("resource_tags"), as_json("cost_category"))


def _camel(snake_name: str, lower_first: bool = False) -> str:
    word = "".join(w.capitalize() for w in snake_name.split("_"))
    return word[0].lower() + word[1:] if lower_first else word


def to_legacy(df: pl.DataFrame) -> pl.DataFrame:
    """CUR 2.0 frame -> legacy CUR CSV columns (``lineItem/UnblendedCost``, one column a tag or
    cost category: ``resourceTags/user:team``, ``costCategory/Environment``)."""
    entry = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))

    def map_keys(column: str) -> list[str]:
        return sorted({e["key"] for m in df[column].cast(entry).to_list() for e in m or []})

    keys, categories = map_keys("resource_tags"), map_keys("cost_category")
    out = {}
    for name in df.columns:
        if name in ("resource_tags", "cost_category"):
            continue
        cat = next(c for c in _CATEGORIES if name.startswith(c + "_"))
        rest = name[len(cat) + 1 :]
        out[name] = f"{_camel(cat, True)}/{_camel(rest, lower_first=cat == 'pricing')}"
    tags = [
        pl.col("resource_tags")
        .cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
        .list.eval(pl.element().filter(pl.element().struct.field("key") == k).struct.field("value"))
        .list.first()
        .alias("resourceTags/" + k.replace("_", ":", 1))
        for k in keys
    ]
    tags += [
        pl.col("cost_category")
        .cast(entry)
        .list.eval(pl.element().filter(pl.element().struct.field("key") == k).struct.field("value"))
        .list.first()
        .alias("costCategory/" + k)
        for k in categories
    ]
    return df.with_columns(tags).drop("resource_tags", "cost_category").rename(out)


class _PeriodWriter:
    """Writes a period's line items as a multi-file delivery, one file per ``rows_per_file``
    rows, so memory stays bounded by one file's rows whatever the period's size."""

    def __init__(self, cfg: DemoConfig, period: str, fmt: str, delivery_id: str) -> None:
        self.cfg, self.period, self.fmt, self.delivery_id = cfg, period, fmt, delivery_id
        start, end = period_bounds(period)
        self.legacy_dir = f"{start:%Y%m%d}-{end:%Y%m%d}"
        if cfg.flavor == "legacy":
            self.fmt = "csv.gz"
            self.rel_dir = f"{self.legacy_dir}/{delivery_id}"
        else:
            self.rel_dir = f"data/BILLING_PERIOD={period}"
        self.data_dir = cfg.export_root / self.rel_dir
        shutil.rmtree(self.data_dir, ignore_errors=True)  # a re-delivery replaces the files
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.buffer: list[pl.DataFrame] = []
        self.buffered = 0
        self.keys: list[str] = []
        self.rows = 0
        self.columns: list[str] = []

    def add(self, df: pl.DataFrame) -> None:
        self.buffer.append(df)
        self.buffered += df.height
        self.rows += df.height
        while self.buffered >= self.cfg.rows_per_file:
            full = pl.concat(self.buffer, how="diagonal_relaxed")
            self._write(full.slice(0, self.cfg.rows_per_file))
            rest = full.slice(self.cfg.rows_per_file)
            self.buffer, self.buffered = ([rest], rest.height) if rest.height else ([], 0)

    def _write(self, chunk: pl.DataFrame) -> None:
        n = len(self.keys) + 1
        name = self.cfg.export_name
        if self.cfg.flavor == "legacy":
            chunk = to_legacy(chunk)
        self.columns = self.columns or chunk.columns
        if self.fmt == "parquet":
            fname = f"{name}-{n:05d}.snappy.parquet"
            chunk.write_parquet(self.data_dir / fname, compression="snappy")
        else:
            fname = f"{name}-{n:05d}.csv.gz"
            with gzip.open(self.data_dir / fname, "wb", compresslevel=3) as fh:
                frame = chunk if self.cfg.flavor == "legacy" else _csv_ready(chunk)
                frame.write_csv(fh, datetime_format="%Y-%m-%dT%H:%M:%SZ")
        self.keys.append(f"{DEMO_PREFIX}/{name}/{self.rel_dir}/{fname}")

    def close(self) -> list[str]:
        if self.buffer:
            self._write(pl.concat(self.buffer, how="diagonal_relaxed"))
        start, end = period_bounds(self.period)
        name = self.cfg.export_name
        if self.cfg.flavor == "legacy":
            manifest = {
                "assemblyId": self.delivery_id,
                "account": C.PAYER_ACCOUNT,
                "reportName": name,
                "bucket": DEMO_BUCKET,
                "reportKeys": self.keys,
                "billingPeriod": {"start": f"{start:%Y%m%d}T000000.000Z", "end": f"{end:%Y%m%d}T000000.000Z"},
                "contentType": "text/csv",
                "compression": "GZIP",
                "columns": [{"category": c.split("/")[0], "name": c.split("/", 1)[1]} for c in self.columns],
            }
            path = self.cfg.export_root / self.legacy_dir / f"{name}-Manifest.json"
        else:
            manifest = {
                "version": "2.0",
                "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{C.PAYER_ACCOUNT}:export/{name}",
                "exportName": name,
                "executionId": self.delivery_id,
                "billingPeriod": {"start": f"{start}T00:00:00.000Z", "end": f"{end}T00:00:00.000Z"},
                "bucket": DEMO_BUCKET,
                "dataFiles": [f"s3://{DEMO_BUCKET}/{k}" for k in self.keys],
                "dataFileFormat": "parquet" if self.fmt == "parquet" else "text/csv",
                "columns": [{"name": c} for c in self.columns],
            }
            path = (
                self.cfg.export_root / "metadata" / f"BILLING_PERIOD={self.period}" / f"{name}-Manifest.json"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2))
        return self.keys


def generate(cfg: DemoConfig, fmt: str = "parquet") -> dict:
    """Write the export and truth.json; returns the truth (also used by tests)."""
    rng = np.random.default_rng(cfg.seed)
    fleet = _fleet(cfg.scale)
    truth_parts: list[pl.DataFrame] = []
    periods_out = {}
    for period in cfg.periods:
        start, end = period_bounds(period)
        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cfg.export_name}/{period}/{cfg.seed}"))
        writer = _PeriodWriter(cfg, period, fmt, execution_id)
        for offset in range((end - start).days):
            day_df = build_day(start + dt.timedelta(days=offset), period, fleet, rng, cfg.scale)
            truth_parts.append(_truth_rows(day_df))
            writer.add(to_cur2(day_df))
        keys = writer.close()
        periods_out[period] = {"execution_id": execution_id, "data_files": keys, "rows": writer.rows}
        log.info("demo: wrote %s (%d rows, %d files)", period, writer.rows, len(keys))
    truth = _truth_document(cfg, pl.concat(truth_parts), periods_out)
    (cfg.out_dir / "truth.json").write_text(json.dumps(truth, indent=2))
    return truth


def _usd(units: int) -> str:
    sign = "-" if units < 0 else ""
    units = abs(int(units))
    return f"{sign}{units // C.UNITS_PER_USD}.{units % C.UNITS_PER_USD:08d}"


def _truth_document(cfg: DemoConfig, t: pl.DataFrame, periods: dict) -> dict:
    t = t.sort("date", "account")
    daily = [
        {
            "date": str(r["date"]),
            "account": r["account"],
            "rows": r["rows"],
            "unblended": _usd(r["unblended_u"]),
            "effective": _usd(r["effective_u"]),
            "true_up": _usd(r["true_up_u"]),
        }
        for r in t.iter_rows(named=True)
    ]
    return {
        "seed": cfg.seed,
        "scale": cfg.scale,
        "export_root": str(cfg.export_root),
        "bucket": DEMO_BUCKET,
        "prefix": DEMO_PREFIX,
        "export": DEMO_EXPORT,
        "accounts": sorted(C.ACCOUNTS),
        "billing_periods": periods,
        "start": str(C.DEMO_START),
        "end": str(C.DEMO_END),
        "total_rows": int(t["rows"].sum()),
        "total_unblended": _usd(t["unblended_u"].sum()),
        "total_effective": _usd(t["effective_u"].sum()),
        "daily": daily,
        "planted": {
            "missing_day": {"account": C.MISSING_DAY["account"], "date": str(C.MISSING_DAY["date"])},
            "missing_requests_day": str(C.MISSING_REQUESTS_DAY),
        },
    }


def restate(cfg: DemoConfig, restatement: dict = C.RESTATEMENT) -> dict:
    """Re-deliver a closed billing period with the planted changes, under a new delivery id.

    Returns the planted truth: the new delivery id and, per changed day x account x service,
    the unblended and effective deltas (which are equal: refunds and usage are not amortized).
    """
    period = restatement["period"]
    root = cfg.export_root / "data" / f"BILLING_PERIOD={period}"
    # the first delivery's files, moved aside and streamed file by file into the new delivery:
    # read whole, a 60M-line-item period took 24 GB
    previous = root.with_name(root.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    root.rename(previous)
    files = sorted(previous.glob("*.parquet"))
    columns = list(pl.read_parquet_schema(files[0]))
    p_start, p_end = period_bounds(period)
    extra = pl.DataFrame(
        [
            {
                "account": ln["account"],
                "product_code": ln["product_code"],
                "line_item_type": ln["line_item_type"],
                "usage_type": ln["usage_type"],
                "resource_id": ln["resource_id"],
                "usage_amount": 0.0,
                "unblended_u": ln["units"],
                "effective_u": ln["units"],
                "list_u": 0,
                "start": dt.datetime.combine(ln["date"], dt.time()),
                "end": dt.datetime.combine(ln["date"], dt.time()) + dt.timedelta(days=1),
            }
            for ln in restatement["lines"]
        ]
    )
    extra = extra.with_columns(
        [pl.lit(0, pl.Int64).alias(c) for c in INT_DEFAULTS if c not in extra.columns]
    ).with_columns(
        period_start=pl.lit(dt.datetime.combine(p_start, dt.time())),
        period_end=pl.lit(dt.datetime.combine(p_end, dt.time())),
    )
    delivery_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"restatement-{period}-{cfg.seed}"))
    writer = _PeriodWriter(cfg, period, "parquet", delivery_id)
    for path in files:
        writer.add(pl.read_parquet(path))
    writer.add(to_cur2(extra).select(columns))
    writer.close()
    shutil.rmtree(previous)
    return {
        "period": period,
        "delivery_id": delivery_id,
        "changes": [
            {
                "date": str(ln["date"]),
                "account": ln["account"],
                "service_code": ln["product_code"],
                "delta": _usd(ln["units"]),
            }
            for ln in restatement["lines"]
        ],
    }

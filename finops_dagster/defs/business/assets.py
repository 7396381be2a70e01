"""Business data: request counts per day partition, and the reference tables."""

import datetime as dt

import dagster as dg
import polars as pl

from finops_dagster.checks import evaluate_days
from finops_dagster.lake.ledger import day_entries
from finops_dagster.partitions import daily_partitions
from finops_dagster.quality.results import DayResult
from finops_dagster.redact import redact
from finops_dagster.resources import BusinessDataResource, LakeResource
from finops_dagster.selections import DAILY, REFERENCE, raw_tags
from finops_dagster.sources.business import BusinessDataError

SOURCE = "business_requests"
_COMMON = dict(group_name="ingestion", kinds={"python", "polars", "parquet"}, owners=["team:finops-platform"])
_REFERENCE = dict(tags={"source": "business", **raw_tags(REFERENCE)}, **_COMMON)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"source": "business", **raw_tags(DAILY)},
    **_COMMON,
)
def raw_business_requests(
    context: dg.AssetExecutionContext, business: BusinessDataResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Requests per customer per service per day (the basis of the shared-cost split)."""
    days = [dt.date.fromisoformat(pk) for pk in context.partition_keys]
    if not business.url:
        return lake.skip_source("business", "not_configured", "FINOPS_BUSINESS_URL is not set", context)
    src = business.source()
    try:
        reqs = src.requests(days[0], days[-1] + dt.timedelta(days=1), src.read("customers"))
    except BusinessDataError as exc:
        raise dg.Failure(description=str(exc)) from exc
    counts = dict(reqs.group_by("usage_date").len().iter_rows())
    where = redact(src.url)  # the ledger and the UI never hold a password
    lake.raw_lake().write_days(
        SOURCE,
        reqs.lazy(),
        days,
        lake.ledger(),
        lambda staged: day_entries(SOURCE, staged, counts, where, (where,)),
    )
    lake.source_ok("business")
    return dg.MaterializeResult(
        metadata={
            "rows": reqs.height,
            "days": len(days),
            "days_without_requests": sum(1 for d in days if not counts.get(d)),
        }
    )


@dg.asset_check(asset=raw_business_requests, partitions_def=daily_partitions)
def business_requests_day_present(
    context: dg.AssetCheckExecutionContext, business: BusinessDataResource, lake: LakeResource
) -> dg.AssetCheckResult:
    """Every customer has request counts for the day: a late or missing feed shows as a gap."""
    raw = lake.raw_lake()
    status = lake.source_status("business")
    customers = set(business.source().read("customers")["customer_id"]) if business.url else set()

    def day(pk: str) -> DayResult:
        d = dt.date.fromisoformat(pk)
        if not business.url:
            return DayResult(True, {"status": status.line()})
        seen = set(raw.scan_day(SOURCE, d).collect()["customer_id"]) if raw.has_day(SOURCE, d) else set()
        missing = sorted(customers - seen)
        return DayResult(
            not missing, {"customers": len(seen), "missing_customers": ", ".join(missing) or "none"}
        )

    return evaluate_days(context, dg.AssetKey("raw_business_requests"), "business_requests_day_present", day)


@dg.multi_asset(
    specs=[
        dg.AssetSpec("raw_customers", description="Customers and their MRR.", **_REFERENCE),
        dg.AssetSpec(
            "raw_budgets", description="Monthly budgets per account, team or service.", **_REFERENCE
        ),
        dg.AssetSpec(
            "raw_shared_resource_rules",
            description="Service tags whose cost is shared across customers, and what it is split by.",
            **_REFERENCE,
        ),
    ]
)
def raw_business_reference(business: BusinessDataResource, lake: LakeResource):
    """Reference tables, validated and written whole (small, not partitioned)."""
    if not business.url:
        lake.skip_source("business", "not_configured", "FINOPS_BUSINESS_URL is not set")
        for key in ("raw_customers", "raw_budgets", "raw_shared_resource_rules"):
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={"status": "skipped: not_configured", "reason": "FINOPS_BUSINESS_URL is not set"},
            )
        return
    src = business.source()
    for key, name in (
        ("raw_customers", "customers"),
        ("raw_budgets", "budgets"),
        ("raw_shared_resource_rules", "shared_rules"),
    ):
        try:
            df: pl.DataFrame = src.read(name)
        except BusinessDataError as exc:
            raise dg.Failure(description=str(exc)) from exc
        target = lake.write_raw_file(name, df)
        yield dg.MaterializeResult(asset_key=key, metadata={"rows": df.height, "path": str(target)})

"""Small CUR exports shaped exactly as AWS delivers them, one per quirk of real data.

Synthetic (no AWS customer data), written from AWS's documentation of the legacy CUR, its
Athena integration and CUR 2.0, and from what real exports showed (issue 13):

- ``athena_2018``: legacy Parquet with the Athena integration, Oct-Dec 2018, two accounts,
  ``<report>/<report>/year=2018/month=M/<report>-0000N.snappy.parquet``, no manifest,
  ``cost_and_usage_data_status`` READY. Before Savings Plans existed (no savings_plan_* columns,
  no line_item_net_*), rates kept as text with ``""`` (line_item_unblended_rate,
  reservation_normalized_units_per_reservation), timestamps as Parquet timestamps (ms in
  October, UTC-aware in November), one column per tag (``resource_tags_user_cost_center``),
  a column new in November (``product_database_engine``), a tag key new in November
  (workload) and one gone in December (name). Reserved Instances (DiscountedUsage, RIFee) so
  the amortization invariant has something to prove; tax on the first of each month.
- ``legacy_csv_2023``: legacy CSV (``lineItem/UnblendedCost`` headers), report versioning
  "create new report": ``20231101-20231201/<assemblyId>/<report>-1.csv.gz`` with the period's
  manifest beside the assembly folder (and its copy inside). Resource ids and tags switched off
  (no ``lineItem/ResourceId``, no ``resourceTags/*``), both ``product/region`` and
  ``product/regionCode``, text that looks numeric (``pricing/RateCode``, ``pricing/RateId``,
  ``product/feeCode``, ``product/feeDescription``), an account id with a leading zero, Savings
  Plans lines, and data that stops on 2023-11-14 in a closed month.
- ``legacy_overwrite``: legacy CSV with "overwrite existing report": the files beside the manifest.
- ``athena_with_manifest``: the Athena layout plus period manifests whose reportKeys point into
  ``year=/month=`` folders.
- ``cur2_product_map``: CUR 2.0 Parquet whose product attributes live only in the ``product`` map.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

PAYER = "123456789012"
LINKED = "210987654321"
ZERO_LED = "012345678901"  # AWS account ids may start with 0


def _days(year: int, month: int, last: int | None = None) -> list[dt.date]:
    first = dt.date(year, month, 1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    n = (after - first).days if last is None else last
    return [first + dt.timedelta(days=i) for i in range(n)]


def _interval(day: dt.date) -> str:
    return f"{day}T00:00:00Z/{day + dt.timedelta(days=1)}T00:00:00Z"


# --- Athena legacy Parquet, 2018 ---------------------------------------------------------------


def _athena_month(month: int) -> pl.DataFrame:
    days = _days(2018, month)
    period = dt.datetime(2018, month, 1)
    rows = []
    n = 0

    def line(
        day: dt.date,
        account: str,
        kind: str,
        product: str,
        usage_type: str,
        cost: float,
        amount: float,
        resource: str,
        rate: str,
        **extra,
    ) -> None:
        nonlocal n
        n += 1
        rows.append(
            {
                "identity_line_item_id": f"li{month:02d}{n:05d}",
                "identity_time_interval": _interval(day),
                "bill_invoice_id": "",
                "bill_billing_entity": "AWS",
                "bill_bill_type": "Anniversary",
                "bill_payer_account_id": PAYER,
                "bill_billing_period_start_date": period,
                "bill_billing_period_end_date": dt.datetime(2018 + month // 12, month % 12 + 1, 1),
                "line_item_usage_account_id": account,
                "line_item_line_item_type": kind,
                "line_item_usage_start_date": dt.datetime.combine(day, dt.time()),
                "line_item_usage_end_date": dt.datetime.combine(day + dt.timedelta(days=1), dt.time()),
                "line_item_product_code": product,
                "line_item_usage_type": usage_type,
                "line_item_operation": "RunInstances" if product == "AmazonEC2" else "",
                "line_item_availability_zone": "us-east-1a",
                "line_item_resource_id": resource,
                "line_item_usage_amount": amount,
                "line_item_normalization_factor": 1.0,
                "line_item_currency_code": "USD",
                "line_item_unblended_rate": rate,
                "line_item_unblended_cost": cost,
                "line_item_blended_rate": rate,
                "line_item_blended_cost": cost,
                "line_item_line_item_description": f"{kind} {usage_type}",
                "product_product_name": {
                    "AmazonEC2": "Amazon Elastic Compute Cloud",
                    "AmazonS3": "Amazon Simple Storage Service",
                    "AmazonRDS": "Amazon Relational Database Service",
                }[product],
                "product_region": "us-east-1",
                "product_location": "US East (N. Virginia)",
                "product_instance_type": "m5.large" if product == "AmazonEC2" and resource else "",
                "pricing_public_on_demand_cost": extra.pop("public", cost),
                "pricing_public_on_demand_rate": rate,
                "pricing_term": "OnDemand",
                "pricing_unit": "Hrs",
                "reservation_reservation_a_r_n": extra.pop("ri_arn", ""),
                "reservation_effective_cost": extra.pop("ri_effective", 0.0),
                "reservation_amortized_upfront_cost_for_usage": extra.pop("ri_upfront_usage", 0.0),
                "reservation_recurring_fee_for_usage": extra.pop("ri_recurring_usage", 0.0),
                "reservation_amortized_upfront_fee_for_billing_period": extra.pop("ri_upfront_period", 0.0),
                "reservation_unused_amortized_upfront_fee_for_billing_period": extra.pop(
                    "ri_unused_upfront", 0.0
                ),
                "reservation_unused_recurring_fee": extra.pop("ri_unused_recurring", 0.0),
                "reservation_normalized_units_per_reservation": extra.pop("ri_units", ""),
                "resource_tags_user_cost_center": extra.pop("cost_center", ""),
                "resource_tags_user_department": extra.pop("department", ""),
                "resource_tags_user_name": extra.pop("name", ""),
                "resource_tags_user_workload": extra.pop("workload", ""),
                "product_database_engine": extra.pop("engine", ""),
            }
        )

    ri = "arn:aws:ec2:us-east-1:123456789012:reserved-instances/ri-0001"
    for i, day in enumerate(days):
        for a, account in enumerate((PAYER, LINKED)):
            for r in range(2):
                cost = round(0.096 * 24 * (1 + r + a) + 0.01 * (i % 7), 6)
                line(
                    day,
                    account,
                    "Usage",
                    "AmazonEC2",
                    "BoxUsage:m5.large",
                    cost,
                    24.0 * (1 + r + a),
                    f"i-{account[-4:]}{r:04d}",
                    "0.096",
                    cost_center=f"cc-{100 + a}",
                    department="platform" if r == 0 else "data",
                    name=f"web-{r}" if month < 12 else "",
                    workload="batch" if month >= 11 else "",
                )
            line(
                day,
                account,
                "Usage",
                "AmazonS3",
                "TimedStorage-ByteHrs",
                round(0.023 * (5 + i), 6),
                5.0 + i,
                "",
                "0.0230000000",
            )
            if month >= 11:
                line(
                    day,
                    account,
                    "Usage",
                    "AmazonRDS",
                    "InstanceUsage:db.t3.medium",
                    1.632,
                    24.0,
                    f"db-{account[-4:]}",
                    "0.068",
                    engine="PostgreSQL",
                    cost_center="cc-300",
                )
        line(
            day,
            PAYER,
            "DiscountedUsage",
            "AmazonEC2",
            "BoxUsage:m5.large",
            0.0,
            24.0,
            "i-ri000001",
            "0.0",
            public=2.304,
            ri_arn=ri,
            ri_effective=0.8,
            ri_upfront_usage=0.3,
            ri_recurring_usage=0.5,
            ri_units="4",
            cost_center="cc-100",
        )
    first = days[0]
    line(
        first,
        PAYER,
        "RIFee",
        "AmazonEC2",
        "HeavyUsage:m5.large",
        round(0.5 * len(days) + 2.0, 6),
        len(days) * 24.0,
        "",
        "",
        public=0.0,
        ri_arn=ri,
        ri_upfront_period=round(0.3 * len(days) + 1.0, 6),
        ri_unused_upfront=1.0,
        ri_unused_recurring=2.0,
    )
    for account in (PAYER, LINKED):
        line(first, account, "Tax", "AmazonEC2", "", 3.17 if account == PAYER else 1.05, 0.0, "", "")
    frame = pl.DataFrame(rows)
    drop = {
        10: ["resource_tags_user_workload", "product_database_engine"],
        11: [],
        12: ["resource_tags_user_name"],
    }[month]
    return frame.drop(drop)


def athena_2018(root: Path, with_manifest: bool = False, status: str = "READY") -> Path:
    """Returns the export root to give the platform: the report's folder."""
    report = "athena-report"
    base = root / "cur" / report
    for month in (10, 11, 12):
        frame = _athena_month(month)
        table = frame.to_arrow()
        if month == 10:  # millisecond timestamps, as Athena-integrated Parquet often has
            table = table.cast(
                pa.schema(
                    [
                        pa.field(f.name, pa.timestamp("ms")) if pa.types.is_timestamp(f.type) else f
                        for f in table.schema
                    ]
                )
            )
        if month == 11:  # UTC-aware timestamps
            table = table.cast(
                pa.schema(
                    [
                        pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
                        for f in table.schema
                    ]
                )
            )
        folder = base / report / "year=2018" / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        half = table.num_rows // 2
        keys = []
        for n, part in enumerate((table.slice(0, half), table.slice(half)), start=1):
            name = f"{report}-0000{n}.snappy.parquet"
            pq.write_table(part, folder / name, compression="snappy")
            keys.append(f"cur/{report}/{report}/year=2018/month={month}/{name}")
        if with_manifest:
            start = dt.date(2018, month, 1)
            end = (start + dt.timedelta(days=32)).replace(day=1)
            mdir = base / f"{start:%Y%m%d}-{end:%Y%m%d}"
            mdir.mkdir(parents=True, exist_ok=True)
            (mdir / f"{report}-Manifest.json").write_text(
                json.dumps(
                    {
                        "assemblyId": f"athena-{month}-assembly",
                        "reportName": report,
                        "bucket": "cur-bucket",
                        "reportKeys": keys,
                        "contentType": "Parquet",
                        "compression": "Parquet",
                        "billingPeriod": {
                            "start": f"{start:%Y%m%d}T000000.000Z",
                            "end": f"{end:%Y%m%d}T000000.000Z",
                        },
                    }
                )
            )
    status_dir = base / "cost_and_usage_data_status"
    status_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"status": [status]}), status_dir / "cost_and_usage_data_status.parquet")
    (base / "crawler-cfn.yml").write_text("# the CloudFormation template AWS ships beside the report\n")
    return base


# --- legacy CSV, 2023 --------------------------------------------------------------------------

CSV_COLUMNS = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/InvoiceId",
    "bill/BillingEntity",
    "bill/BillType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/AvailabilityZone",
    "lineItem/UsageAmount",
    "lineItem/NormalizationFactor",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedRate",
    "lineItem/BlendedCost",
    "lineItem/NetUnblendedCost",
    "lineItem/LineItemDescription",
    "product/ProductName",
    "product/region",
    "product/regionCode",
    "product/instanceType",
    "product/feeCode",
    "product/feeDescription",
    "pricing/RateCode",
    "pricing/RateId",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "pricing/term",
    "pricing/unit",
    "reservation/ReservationARN",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod",
    "savingsPlan/SavingsPlanRate",
]


def _csv_rows(days: list[dt.date], period_start: dt.date, period_end: dt.date) -> list[dict]:
    sp = "arn:aws:savingsplans::012345678901:savingsplan/0a1b2c3d-sp"
    rows: list[dict] = []

    def line(
        day: dt.date,
        account: str,
        kind: str,
        product: str,
        usage_type: str,
        cost: str,
        amount: str,
        **extra: str,
    ) -> None:
        rows.append(
            {c: "" for c in CSV_COLUMNS}
            | {
                "identity/LineItemId": f"2jf{len(rows):06d}qq",
                "identity/TimeInterval": _interval(day),
                "bill/BillingEntity": "AWS",
                "bill/BillType": "Anniversary",
                "bill/PayerAccountId": ZERO_LED,
                "bill/BillingPeriodStartDate": f"{period_start}T00:00:00Z",
                "bill/BillingPeriodEndDate": f"{period_end}T00:00:00Z",
                "lineItem/UsageAccountId": account,
                "lineItem/LineItemType": kind,
                "lineItem/UsageStartDate": f"{day}T00:00:00Z",
                "lineItem/UsageEndDate": f"{day + dt.timedelta(days=1)}T00:00:00Z",
                "lineItem/ProductCode": product,
                "lineItem/UsageType": usage_type,
                "lineItem/UsageAmount": amount,
                "lineItem/CurrencyCode": "USD",
                "lineItem/UnblendedCost": cost,
                "lineItem/BlendedCost": cost,
                "lineItem/NetUnblendedCost": cost,
                "product/ProductName": "Amazon Elastic Compute Cloud"
                if product == "AmazonEC2"
                else "AWS Lambda"
                if product == "AWSLambda"
                else "Savings Plans for AWS Compute usage",
                "product/region": "eu-west-1",
                "product/regionCode": "eu-west-1",
                "pricing/RateCode": "2JE46CBZYW8NSVU7.JRTCKXETXF.6EN2CT7",
                "pricing/RateId": "1234567890",
                "pricing/term": "OnDemand",
                "product/feeCode": "",
                "product/feeDescription": "",
            }
            | extra
        )

    for i, day in enumerate(days):
        for account in (ZERO_LED, "345678901234"):
            c = f"{0.1104 * 24 + 0.001 * i:.10f}"
            line(
                day,
                account,
                "Usage",
                "AmazonEC2",
                "EU-BoxUsage:m6g.large",
                c,
                "24",
                **{
                    "lineItem/UnblendedRate": "0.1104",
                    "pricing/publicOnDemandCost": c,
                    "pricing/publicOnDemandRate": "0.1104",
                    "product/instanceType": "m6g.large",
                },
            )
            line(
                day,
                account,
                "Usage",
                "AWSLambda",
                "EU-Lambda-GB-Second",
                f"{0.0000166667 * 36000:.10f}",
                "36000",
                **{
                    "lineItem/UnblendedRate": "0.0000166667",
                    "product/feeCode": "Lambda-GB-Second-ARM",
                    "product/feeDescription": "ARM 1GB",
                },
            )
        od = 0.1104 * 24
        line(
            day,
            ZERO_LED,
            "SavingsPlanCoveredUsage",
            "AmazonEC2",
            "EU-BoxUsage:m6g.large",
            f"{od:.10f}",
            "24",
            **{
                "savingsPlan/SavingsPlanARN": sp,
                "savingsPlan/SavingsPlanEffectiveCost": "1.8",
                "savingsPlan/SavingsPlanRate": "0.075",
                "pricing/publicOnDemandCost": f"{od:.10f}",
                "lineItem/UnblendedRate": "0.1104",
            },
        )
        line(
            day,
            ZERO_LED,
            "SavingsPlanNegation",
            "AmazonEC2",
            "EU-BoxUsage:m6g.large",
            f"{-od:.10f}",
            "24",
            **{"savingsPlan/SavingsPlanARN": sp},
        )
    line(
        days[0],
        ZERO_LED,
        "SavingsPlanRecurringFee",
        "ComputeSavingsPlans",
        "ComputeSP:1yrNoUpfront",
        "54",
        "720",
        **{
            "savingsPlan/SavingsPlanARN": sp,
            "savingsPlan/TotalCommitmentToDate": "54",
            "savingsPlan/UsedCommitment": f"{1.8 * len(days):.10f}",
            "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod": "0",
        },
    )
    line(days[0], ZERO_LED, "Tax", "AmazonEC2", "", "4.2", "", **{"lineItem/UnblendedRate": ""})
    return rows


def _write_csv_gz(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    pl.DataFrame(rows, schema={c: pl.String for c in columns}).write_csv(buf)
    path.write_bytes(gzip.compress(buf.getvalue().encode()))


def legacy_csv_2023(root: Path, overwrite: bool = False, last_day: int = 14) -> Path:
    """Returns the export root: the report's folder (``<prefix>/<report>``)."""
    report = "legacy-report"
    base = root / "billing" / report
    start, end = dt.date(2023, 11, 1), dt.date(2023, 12, 1)
    period_dir = base / "20231101-20231201"
    assembly = "b1e2c3d4-5678-4abc-9def-0123456789ab"
    data_dir = period_dir if overwrite else period_dir / assembly
    rows = _csv_rows(_days(2023, 11, last_day), start, end)
    half = len(rows) // 2
    keys = []
    for n, part in enumerate((rows[:half], rows[half:]), start=1):
        path = data_dir / f"{report}-{n}.csv.gz"
        _write_csv_gz(path, part, CSV_COLUMNS)
        keys.append(f"billing/{report}/{path.relative_to(base).as_posix()}")
    manifest = {
        "assemblyId": assembly,
        "account": ZERO_LED,
        "reportName": report,
        "bucket": "my-cur",
        "reportKeys": keys,
        "compression": "GZIP",
        "contentType": "text/csv",
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "columns": [{"category": c.split("/")[0], "name": c.split("/")[1]} for c in CSV_COLUMNS],
    }
    (period_dir / f"{report}-Manifest.json").write_text(json.dumps(manifest))
    if not overwrite:  # "create new report" keeps a copy of the manifest in the assembly folder
        (data_dir / f"{report}-Manifest.json").write_text(json.dumps(manifest))
    return base


# --- CUR 2.0 with attributes only in the product map ---------------------------------------------


def cur2_product_map(root: Path) -> Path:
    base = root / "exports" / "cur2"
    day = dt.date(2025, 3, 3)
    rows = [
        {
            "identity_line_item_id": f"x{i}",
            "identity_time_interval": _interval(day),
            "bill_payer_account_id": PAYER,
            "bill_billing_period_start_date": dt.datetime(2025, 3, 1),
            "bill_billing_period_end_date": dt.datetime(2025, 4, 1),
            "line_item_usage_account_id": PAYER,
            "line_item_line_item_type": "Usage",
            "line_item_usage_start_date": dt.datetime(2025, 3, 3, i),
            "line_item_usage_end_date": dt.datetime(2025, 3, 3, i) + dt.timedelta(hours=1),
            "line_item_product_code": "AmazonEC2",
            "line_item_usage_type": "BoxUsage:t3.micro",
            "line_item_resource_id": "i-0abc",
            "line_item_usage_amount": 1.0,
            "line_item_unblended_cost": 0.0104,
            "line_item_currency_code": "USD",
            "line_item_net_unblended_cost": 0.0104,
            "product": [
                ("product_name", "Amazon Elastic Compute Cloud"),
                ("region", "us-east-2"),
                ("instance_type", "t3.micro"),
            ],
            "resource_tags": [("user_cost_center", "cc-7")],
            "cost_category": [],
        }
        for i in range(24)
    ]
    tag_map = pa.map_(pa.string(), pa.string())
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                (k, pa.string())
                for k in ("identity_line_item_id", "identity_time_interval", "bill_payer_account_id")
            ]
            + [
                ("bill_billing_period_start_date", pa.timestamp("ms")),
                ("bill_billing_period_end_date", pa.timestamp("ms")),
                ("line_item_usage_account_id", pa.string()),
                ("line_item_line_item_type", pa.string()),
                ("line_item_usage_start_date", pa.timestamp("ms")),
                ("line_item_usage_end_date", pa.timestamp("ms")),
                ("line_item_product_code", pa.string()),
                ("line_item_usage_type", pa.string()),
                ("line_item_resource_id", pa.string()),
                ("line_item_usage_amount", pa.float64()),
                ("line_item_unblended_cost", pa.float64()),
                ("line_item_currency_code", pa.string()),
                ("line_item_net_unblended_cost", pa.float64()),
                ("product", tag_map),
                ("resource_tags", tag_map),
                ("cost_category", tag_map),
            ]
        ),
    )
    data = base / "data" / "BILLING_PERIOD=2025-03"
    data.mkdir(parents=True)
    pq.write_table(table, data / "cur2-00001.snappy.parquet")
    meta = base / "metadata" / "BILLING_PERIOD=2025-03"
    meta.mkdir(parents=True)
    (meta / "cur2-Manifest.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "executionId": "exec-2025-03-a",
                "exportName": "cur2",
                "bucket": "b",
                "dataFiles": ["s3://b/exports/cur2/data/BILLING_PERIOD=2025-03/cur2-00001.snappy.parquet"],
            }
        )
    )
    return base


# --- an independent recomputation, in DuckDB SQL over the source files ------------------------------

EFFECTIVE_SQL = """
    case line_item_line_item_type
        when 'SavingsPlanCoveredUsage' then coalesce(savings_plan_savings_plan_effective_cost, 0)
        when 'SavingsPlanRecurringFee' then coalesce(savings_plan_total_commitment_to_date, 0)
                                            - coalesce(savings_plan_used_commitment, 0)
        when 'SavingsPlanNegation' then 0
        when 'SavingsPlanUpfrontFee' then 0
        when 'DiscountedUsage' then coalesce(reservation_effective_cost, 0)
        when 'RIFee' then coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                          + coalesce(reservation_unused_recurring_fee, 0)
        else line_item_unblended_cost end"""


def source_totals(files: list[Path]) -> tuple[int, float, float]:
    """Rows, unblended and effective cost straight from the delivered files (DuckDB, no code of
    ours): what fct_daily_cost must hold."""
    import duckdb

    con = duckdb.connect()
    if files[0].name.endswith(".csv.gz"):
        con.execute(
            "create view src as select * from read_csv([{}], all_varchar = true, header = true)".format(
                ", ".join(f"'{f}'" for f in files)
            )
        )
        cols = {r[0] for r in con.execute("describe src").fetchall()}

        def num(c: str) -> str:
            return f"try_cast(nullif(\"{c}\", '') as double)" if c in cols else "null"

        con.execute(f"""create view norm as select
            "lineItem/LineItemType" as line_item_line_item_type,
            {num("lineItem/UnblendedCost")} as line_item_unblended_cost,
            {num("savingsPlan/SavingsPlanEffectiveCost")} as savings_plan_savings_plan_effective_cost,
            {num("savingsPlan/TotalCommitmentToDate")} as savings_plan_total_commitment_to_date,
            {num("savingsPlan/UsedCommitment")} as savings_plan_used_commitment,
            {num("reservation/EffectiveCost")} as reservation_effective_cost,
            {num("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod")}
                as reservation_unused_amortized_upfront_fee_for_billing_period,
            {num("reservation/UnusedRecurringFee")} as reservation_unused_recurring_fee
            from src""")
    else:
        con.execute(
            "create view src as select * from read_parquet([{}], union_by_name = true)".format(
                ", ".join(f"'{f}'" for f in files)
            )
        )
        cols = {r[0] for r in con.execute("describe src").fetchall()}
        opt = [
            "savings_plan_savings_plan_effective_cost",
            "savings_plan_total_commitment_to_date",
            "savings_plan_used_commitment",
            "reservation_effective_cost",
            "reservation_unused_amortized_upfront_fee_for_billing_period",
            "reservation_unused_recurring_fee",
        ]
        con.execute(
            "create view norm as select line_item_line_item_type, line_item_unblended_cost, "
            + ", ".join(f"{'cast(' + c + ' as double)' if c in cols else 'null'} as {c}" for c in opt)
            + " from src"
        )
    return con.execute(
        f"select count(*), sum(line_item_unblended_cost), sum({EFFECTIVE_SQL}) from norm"
    ).fetchone()

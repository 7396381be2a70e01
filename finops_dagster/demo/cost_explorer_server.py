"""A Cost-Explorer-compatible HTTP endpoint (AWS JSON 1.1) that can page, throttle and fail.

moto's Cost Explorer cannot paginate or throttle, so the demo and the tests point boto3 at this
(``AWS_ENDPOINT_URL_COST_EXPLORER``). It serves daily costs aggregated from the demo's CUR
files, so Cost Explorer and CUR describe the same spend, and records every request it gets.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl

METRIC_COLUMNS = {
    "UnblendedCost": "unblended",
    "AmortizedCost": "amortized",
    "NetUnblendedCost": "unblended",
    "NetAmortizedCost": "amortized",
    "BlendedCost": "unblended",
    "UsageQuantity": "usage",
}
DIMENSIONS = {
    "SERVICE": "service",
    "LINKED_ACCOUNT": "account",
    "REGION": "region",
    "USAGE_TYPE": "usage_type",
}


def dataset_from_cur(export_root: Path) -> pl.DataFrame:
    """Daily cost per service (as Cost Explorer names it) x account x region x usage type x team
    tag, from CUR files."""
    from finops_dagster.sources.ce_services import cost_explorer_service
    from finops_dagster.sources.cur import scan_delivery
    from finops_dagster.sources.cur_rules import MONEY, effective_cost

    lf = scan_delivery(sorted(Path(export_root).glob("data/*/*.parquet")))
    schema = lf.collect_schema()
    service = cost_explorer_service(
        pl.col("line_item_product_code"),
        pl.col("line_item_line_item_type"),
        pl.col("line_item_usage_type"),
        pl.col("product_product_name"),
    )
    return (
        lf.group_by(
            date=pl.col("usage_date"),
            service=service,
            account=pl.col("line_item_usage_account_id"),
            region=pl.col("product_region_code"),
            usage_type=pl.col("line_item_usage_type"),
            team=pl.col("resource_tags").map.get("user_team").fill_null(""),
        )
        .agg(
            unblended=pl.col("line_item_unblended_cost").cast(MONEY).sum(),
            amortized=effective_cost(schema).sum(),
            usage=pl.col("line_item_usage_amount").cast(MONEY).sum(),
        )
        .collect()
    )


def plant_drift(data: pl.DataFrame) -> pl.DataFrame:
    """Cost Explorer as the demo serves it: CUR's spend plus the planted differences
    (``catalog.CE_DRIFT``) and the dev account's day that CUR lacks (``catalog.MISSING_DAY``)."""
    from finops_dagster.demo import catalog as C

    gap, account = C.MISSING_DAY["date"], C.MISSING_DAY["account"]
    copied = data.filter(
        pl.col("date") == gap - dt.timedelta(days=1), pl.col("account") == account
    ).with_columns(date=pl.lit(gap))
    drift = pl.DataFrame(
        [
            {
                "date": d["date"],
                "service": C.ce_service_name(d["service"]),
                "account": d["account"],
                "region": "us-east-1",
                "usage_type": "demo-drift",
                "team": "",
                "unblended": Decimal(d["usd"]),
                "amortized": Decimal(d["usd"]),
                "usage": Decimal(0),
            }
            for d in C.CE_DRIFT
        ],
        schema=data.schema,
    )
    return pl.concat([data, copied, drift])


@dataclass
class Faults:
    """What the endpoint does wrong, on demand."""

    throttle_rate: float = 0.0  # share of requests answered with ThrottlingException
    fail_after_pages: int | None = None  # 500s (an outage) once this many pages were served
    error_page: bool = False  # answer every request with an HTML 502 page
    expired_credentials: bool = False
    seed: int = 7


@dataclass
class EndpointState:
    data: pl.DataFrame
    page_size: int = 1000
    estimated_from: dt.date | None = None
    cost_categories: dict[str, list[str]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, operation)
    pages_served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def max_requests_per_second(self) -> int:
        """The most requests seen in any 1-second window."""
        times = sorted(t for t, _ in self.requests)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _group_key(kind: str, key: str, row: dict) -> str:
    if kind == "TAG":
        return f"{key}${row['team']}" if key == "team" else f"{key}$"
    return str(row[DIMENSIONS[key]])


def get_cost_and_usage(state: EndpointState, req: dict) -> dict:
    start = dt.date.fromisoformat(req["TimePeriod"]["Start"])
    end = dt.date.fromisoformat(req["TimePeriod"]["End"])
    metrics = req["Metrics"]
    groups = req.get("GroupBy", [])
    if len(groups) > 2:
        raise ApiError(400, "ValidationException", "GroupBy supports at most 2 entries")
    keys = [g["Key"] for g in groups]
    df = state.data.filter(pl.col("date") >= start, pl.col("date") < end)
    group_cols = []
    for i, g in enumerate(groups):
        expr = (
            pl.format("{}${}", pl.lit(g["Key"]), pl.col("team"))
            if g["Type"] == "TAG" and g["Key"] == "team"
            else pl.lit(f"{g['Key']}$")
            if g["Type"] == "TAG"
            else pl.col(DIMENSIONS[g["Key"]])
        )
        group_cols.append(expr.alias(f"k{i}"))
    agg = (
        df.group_by(pl.col("date"), *group_cols)
        .agg([pl.col(c).sum() for c in {"unblended", "amortized", "usage"}])
        .sort(pl.all())
    )
    rows = agg.to_dicts()
    offset = int(base64.b64decode(req["NextPageToken"])) if req.get("NextPageToken") else 0
    page = rows[offset : offset + state.page_size]
    by_day: dict[dt.date, list[dict]] = {}
    for r in page:
        by_day.setdefault(r["date"], []).append(r)
    results = []
    for day in sorted(by_day):
        metric_of = lambda r: {  # noqa: E731
            m: {"Amount": _amount(r[METRIC_COLUMNS[m]]), "Unit": "N/A" if m == "UsageQuantity" else "USD"}
            for m in metrics
        }
        entry = {
            "TimePeriod": {"Start": str(day), "End": str(day + dt.timedelta(days=1))},
            "Estimated": bool(state.estimated_from and day >= state.estimated_from),
        }
        if groups:
            entry |= {
                "Total": {},
                "Groups": [
                    {"Keys": [r[f"k{i}"] for i in range(len(groups))], "Metrics": metric_of(r)}
                    for r in by_day[day]
                ],
            }
        else:
            entry |= {"Total": metric_of(by_day[day][0]), "Groups": []}
        results.append(entry)
    out = {
        "ResultsByTime": results,
        "GroupDefinitions": [{"Type": g["Type"], "Key": k} for g, k in zip(groups, keys, strict=True)],
        "DimensionValueAttributes": [],
    }
    if offset + state.page_size < len(rows):
        out["NextPageToken"] = base64.b64encode(str(offset + state.page_size).encode()).decode()
    return out


def get_cost_forecast(state: EndpointState, req: dict) -> dict:
    start = dt.date.fromisoformat(req["TimePeriod"]["Start"])
    end = dt.date.fromisoformat(req["TimePeriod"]["End"])
    recent = state.data.filter(pl.col("date") < start).group_by("date").agg(pl.col("unblended").sum())
    recent = recent.sort("date").tail(14)
    mean = Decimal(recent["unblended"].mean() or 0).quantize(Decimal("0.0001"))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    per_day = [
        {
            "TimePeriod": {"Start": str(d), "End": str(d + dt.timedelta(days=1))},
            "MeanValue": _amount(mean),
            "PredictionIntervalLowerBound": _amount(mean * Decimal("0.9")),
            "PredictionIntervalUpperBound": _amount(mean * Decimal("1.1")),
        }
        for d in days
    ]
    return {"Total": {"Amount": _amount(mean * len(days)), "Unit": "USD"}, "ForecastResultsByTime": per_day}


def list_cost_category_definitions(state: EndpointState, req: dict) -> dict:
    return {
        "CostCategoryReferences": [
            {
                "CostCategoryArn": f"arn:aws:ce::999999999999:costcategory/{name}",
                "Name": name,
                "EffectiveStart": "2026-01-01T00:00:00Z",
                "NumberOfRules": len(values),
                "Values": values,
            }
            for name, values in sorted(state.cost_categories.items())
        ]
    }


def get_cost_categories(state: EndpointState, req: dict) -> dict:
    name = req.get("CostCategoryName")
    if name:
        values = state.cost_categories.get(name, [])
        return {
            "CostCategoryNames": [name],
            "CostCategoryValues": values,
            "ReturnSize": len(values),
            "TotalSize": len(values),
        }
    names = sorted(state.cost_categories)
    return {"CostCategoryNames": names, "ReturnSize": len(names), "TotalSize": len(names)}


OPERATIONS = {
    "GetCostAndUsage": get_cost_and_usage,
    "GetCostForecast": get_cost_forecast,
    "ListCostCategoryDefinitions": list_cost_category_definitions,
    "GetCostCategories": get_cost_categories,
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _make_handler(state: EndpointState):
    rng = random.Random(state.faults.seed)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/x-amz-json-1.1") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            op = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            f = state.faults
            with state.lock:
                state.requests.append((time.monotonic(), op))
                throttled = rng.random() < f.throttle_rate
                failing = f.fail_after_pages is not None and state.pages_served >= f.fail_after_pages
                if not throttled and not failing and op == "GetCostAndUsage":
                    state.pages_served += 1
                served = state.pages_served + (1 if failing else 0)
            try:
                if f.error_page:
                    return self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                if f.expired_credentials:
                    raise ApiError(
                        400, "ExpiredTokenException", "The security token included in the request is expired"
                    )
                if throttled:
                    raise ApiError(400, "ThrottlingException", "Rate exceeded")
                if f.fail_after_pages is not None and served > f.fail_after_pages:
                    raise ApiError(500, "InternalServerException", "simulated outage mid-pagination")
                if op not in OPERATIONS:
                    raise ApiError(400, "UnknownOperationException", op)
                self._send(200, json.dumps(OPERATIONS[op](state, req)).encode())
            except ApiError as exc:
                self._send(exc.status, json.dumps({"__type": exc.code, "message": str(exc)}).encode())

    return Handler


@contextmanager
def serve(state: EndpointState, port: int = 0) -> Iterator[str]:
    """Run the endpoint on 127.0.0.1 in a background thread; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

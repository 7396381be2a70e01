"""The read-only HTTP API over the marts (FastAPI; OpenAPI schema at /openapi.json, docs at
/docs). Started by ``finops-dagster serve``."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from finops_dagster.api.marts import Filter, MartNotBuilt, MartReader
from finops_dagster.api.marts import Query as MartQuery

log = logging.getLogger(__name__)

ACCOUNT = r"^[0-9]{12}$"
# any tag value AWS allows: letters and digits in any language, spaces and _ . : / = + - @
NAME = r"^[\w\s.:/=+\-@]+$"  # at most 256 characters (max_length)
PAGING = ("limit", "offset")
OPEN_PATHS = {"/healthz"}  # answered without the token (load balancers' health checks)


class Pagination(BaseModel):
    limit: int
    offset: int
    total: int


class Page(BaseModel):
    data: list[dict[str, Any]]
    pagination: Pagination
    filters: dict[str, str]
    currency: str | None = None  # every amount in data is in it (other-currencies: per row)


class Problem(BaseModel):
    detail: str


class Params:
    """The filters every endpoint takes; an endpoint uses those its mart has."""

    NAMES = ("start_date", "end_date", "account", "team", "service", *PAGING)

    def __init__(
        self,
        start_date: Annotated[dt.date | None, Query(description="First day (inclusive), YYYY-MM-DD")] = None,
        end_date: Annotated[dt.date | None, Query(description="Last day (inclusive), YYYY-MM-DD")] = None,
        account: Annotated[str | None, Query(pattern=ACCOUNT, description="12-digit linked account")] = None,
        team: Annotated[str | None, Query(pattern=NAME, max_length=256, description="team tag")] = None,
        service: Annotated[
            str | None, Query(pattern=NAME, max_length=256, description="service (tag or AWS)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> None:
        if start_date and end_date and start_date > end_date:
            raise HTTPException(400, f"start_date {start_date} is after end_date {end_date}")
        self.values = {
            "start_date": start_date,
            "end_date": end_date,
            "account": account,
            "team": team,
            "service": service,
        }
        self.limit, self.offset = limit, offset


def _cents(*columns: str) -> str:
    """The forecast and budget assets compute in floats (simulation); the API serves their money
    like every other amount: an exact decimal string, here rounded to the cent."""
    return " replace (" + ", ".join(f"cast(round({c}, 2) as decimal(38, 2)) as {c}" for c in columns) + ")"


def _f(*pairs: tuple[str, str]) -> tuple[Filter, ...]:
    ops = {"start_date": ">=", "end_date": "<="}
    return tuple(Filter(p, c, ops.get(p, "=")) for p, c in pairs)


ACCT = ("account", "sub_account_id")
ENDPOINTS: dict[str, tuple[str, MartQuery]] = {
    "/api/v1/ai/resources/waste-analysis": (
        "Idle instances to stop or terminate",
        MartQuery(
            "fct_waste",
            "*",
            _f(ACCT, ("team", "tag_team"), ("service", "tag_service")),
            "monthly_savings desc, resource_id",
        ),
    ),
    "/api/v1/ai/resources/rightsizing-candidates": (
        "Instances to move to a smaller type",
        MartQuery(
            "fct_rightsizing_candidates",
            "*",
            _f(ACCT, ("team", "tag_team")),
            "monthly_savings desc, resource_id",
        ),
    ),
    "/api/v1/ai/costs/commitment-opportunities": (
        "Savings Plan commitments per account",
        MartQuery("fct_commitment_opportunities", "*", _f(ACCT), "monthly_savings desc, sub_account_id"),
    ),
    "/api/v1/ai/summary/portfolio-analysis": (
        "Optimization potential by category and account",
        MartQuery("fct_portfolio_summary", "*", _f(ACCT), "monthly_savings desc, category, sub_account_id"),
    ),
    "/api/v1/ai/patterns/workload-schedules": (
        "Active and idle hours per instance and weekday",
        MartQuery("fct_workload_schedules", "*", _f(ACCT, ("team", "tag_team")), "resource_id, iso_weekday"),
    ),
    "/api/v1/allocation/teams": (
        "Allocated cost per team over the date range",
        MartQuery(
            "fct_cost_allocation",
            "team, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost, "
            "min(usage_date) as first_date, max(usage_date) as last_date",
            _f(
                ("start_date", "usage_date"),
                ("end_date", "usage_date"),
                ACCT,
                ("team", "team"),
                ("service", "application_service"),
            ),
            "effective_cost desc, team",
            group_by="team",
        ),
    ),
    "/api/v1/allocation/services": (
        "Allocated cost per application service over the date range",
        MartQuery(
            "fct_cost_allocation",
            "application_service, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost",
            _f(
                ("start_date", "usage_date"),
                ("end_date", "usage_date"),
                ACCT,
                ("team", "team"),
                ("service", "application_service"),
            ),
            "effective_cost desc, application_service",
            group_by="application_service",
        ),
    ),
    "/api/v1/allocation/customers": (
        "Customer unit economics per month",
        MartQuery(
            "fct_customer_unit_economics",
            "*",
            _f(("start_date", "billing_month"), ("end_date", "billing_month")),
            "billing_month, customer_id",
        ),
    ),
    "/api/v1/costs/trend": (
        "Daily billed and effective cost",
        MartQuery(
            "fct_cost_trend",  # fct_daily_cost without resources: a small export, the same sums
            "usage_date, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost",
            _f(
                ("start_date", "usage_date"),
                ("end_date", "usage_date"),
                ACCT,
                ("team", "tag_team"),
                ("service", "service_code"),
            ),
            "usage_date",
            group_by="usage_date",
        ),
    ),
    "/api/v1/costs/other-currencies": (
        "Cost billed in a currency other than the reporting one: "
        "reported apart, never added into the other totals",
        MartQuery(
            "fct_other_currency_cost",
            "*",
            _f(("start_date", "usage_date"), ("end_date", "usage_date"), ACCT, ("service", "service_code")),
            "usage_date, sub_account_id, service_code, billing_currency",
        ),
    ),
    "/api/v1/costs/service-report": (
        "30-day cost, trend and drivers per application service",
        MartQuery(
            "fct_service_cost_report",
            "*",
            _f(("service", "application_service")),
            "last_30_days_cost desc, application_service",
        ),
    ),
    "/api/v1/anomalies": (
        "Cost anomalies with their root cause (account, service, team filter the root cause)",
        MartQuery(
            "fct_cost_anomalies",
            "*",
            _f(
                ("start_date", "usage_date"),
                ("end_date", "usage_date"),
                ACCT,
                ("team", "team"),
                ("service", "service_code"),
            ),
            "usage_date desc, dimension, dimension_value",
        ),
    ),
    "/api/v1/billing-audit": (
        "Billing discrepancies: auto-resolved with their reason, or open",
        MartQuery(
            "fct_billing_audit",
            "*",
            _f(
                ("start_date", "billing_period_start"),
                ("end_date", "billing_period_start"),
                ACCT,
                ("service", "service_code"),
            ),
            "billing_period_start desc, sub_account_id, service_code",
        ),
    ),
    "/api/v1/forecast": (
        "Month-end forecast with 80 % / 95 % intervals per scope",
        MartQuery(
            "cost_forecast",
            "* exclude (simulated_totals)"
            + _cents(
                "actual_to_date",
                "pending_recurring",
                "forecast",
                "lower_95",
                "lower_80",
                "median",
                "upper_80",
                "upper_95",
                "ce_forecast",
                "ce_lower_80",
                "ce_upper_80",
            ),
            (),
            "scope_type, scope_value",
        ),
    ),
    "/api/v1/forecast/accuracy": (
        "How far the forecast can be trusted: backtest replays per scope "
        "type and cut-off day, raw and calibrated interval coverage, "
        "median error",
        MartQuery(
            "forecast_backtest",
            "scope_type, cutoff_day, count(*) as replays, "
            "round(avg(case when in_80 then 1.0 else 0.0 end), 4) as coverage_80, "
            "round(avg(case when in_95 then 1.0 else 0.0 end), 4) as coverage_95, "
            "round(avg(case when in_80_calibrated then 1.0 else 0.0 end), 4) as calibrated_coverage_80, "
            "round(avg(case when in_95_calibrated then 1.0 else 0.0 end), 4) as calibrated_coverage_95, "
            "round(median(abs_pct_error), 2) as median_abs_pct_error",
            (),
            "scope_type, cutoff_day",
            group_by="scope_type, cutoff_day",
        ),
    ),
    "/api/v1/budgets": (
        "Budgets: actual to date, forecast, probability of breaching",
        MartQuery(
            "budget_status",
            "*" + _cents("monthly_budget", "actual_to_date", "forecast", "lower_80", "upper_80"),
            (),
            "scope_type, scope_value",
        ),
    ),
}


def create_app(exports_dir: Path, token: str = "", cache_bytes: int = 64 * 2**20) -> FastAPI:
    """The app over ``exports_dir``; with ``token`` every request but /healthz must carry
    ``Authorization: Bearer <token>``."""
    reader = MartReader(exports_dir, cache_bytes)
    app = FastAPI(
        title="finops-dagster API",
        version="1.0.0",
        description="Read-only access to the FinOps marts (exact decimals as strings)."
        + (" Every request needs `Authorization: Bearer <token>`." if token else ""),
    )
    app.state.reader = reader

    if token:
        expected = f"Bearer {token}".encode()

        @app.middleware("http")
        async def bearer(request: Request, call_next):  # noqa: ANN202 - Starlette's middleware
            given = request.headers.get("authorization", "").encode()
            if request.url.path not in OPEN_PATHS and not hmac.compare_digest(given, expected):
                return JSONResponse(
                    status_code=401,
                    content={"detail": "a bearer token is required"},
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return await call_next(request)

    @app.exception_handler(MartNotBuilt)
    async def not_built(_, exc: MartNotBuilt) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def internal(_, exc: Exception) -> JSONResponse:  # never a path or a stack in a body
        log.exception("API error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error (logged by the server)"})

    for path, (summary, query) in ENDPOINTS.items():
        app.add_api_route(
            path,
            _endpoint(reader, path, query),
            methods=["GET"],
            summary=summary,
            response_model=Page,
            responses={400: {"model": Problem}, 404: {"model": Problem}},
        )

    @app.get("/", include_in_schema=False)
    def root() -> dict:
        """What this server is and where to go next (a bare 404 told a new user nothing)."""
        return {
            "name": app.title,
            "version": app.version,
            "description": app.description,
            "docs": "/docs",
            "openapi": "/openapi.json",
            "endpoints": sorted(ENDPOINTS),
        }

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_environment() -> FastAPI:
    """The app over FINOPS_DATA_DIR's exports: what each worker of `serve --workers N` builds."""
    from finops_dagster.settings import Settings

    settings = Settings.from_env()
    return create_app(settings.exports_dir, settings.api_token, settings.api_cache_mb * 2**20)


def _endpoint(reader: MartReader, path: str, query: MartQuery):
    takes = [f.param for f in query.filters]

    accepted = [*takes, *PAGING]

    def handler(request: Request, params: Annotated[Params, Depends()]) -> JSONResponse:
        unknown = sorted(set(request.query_params) - set(Params.NAMES))
        if unknown:  # a misspelled filter would answer with unfiltered data
            raise HTTPException(
                400, f"unknown query parameter(s) {', '.join(unknown)}; {path} accepts {', '.join(accepted)}"
            )
        unsupported = [k for k, v in params.values.items() if v is not None and k not in takes]
        if unsupported:  # a filter silently ignored would answer a question nobody asked
            raise HTTPException(
                400,
                f"{path} cannot filter by {', '.join(unsupported)}; "
                f"it takes {', '.join(takes) or 'no filter'}, limit and offset",
            )
        # The rows are already JSON-ready (exact decimals as strings): answered directly, not
        # re-validated against the Page model, which only documents the shape (OpenAPI).
        rows, total = reader.page(query, params.values, params.limit, params.offset)
        return JSONResponse(
            {
                "data": rows,
                "pagination": {"limit": params.limit, "offset": params.offset, "total": total},
                "filters": {k: str(v) for k, v in params.values.items() if v is not None},
                "currency": None if query.mart == "fct_other_currency_cost" else reader.currency(),
            }
        )

    return handler

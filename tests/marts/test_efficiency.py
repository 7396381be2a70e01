"""Efficiency marts on the demo's planted truth: the idle dev machines are exactly the waste, the
oversized instance gets its planted target, office-hours machines their schedule, and the stable
fleet its commitment."""

from decimal import Decimal

import pytest

from finops_dagster.demo import catalog as C
from finops_dagster.demo.generator import _fleet

RATE = {t: Decimal(u) / C.UNITS_PER_USD for t, u in C.INSTANCE_RATES_UNITS.items()}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def fleet() -> dict[str, tuple[str, str]]:
    """instance name -> (resource id, instance type) as the generator bills them."""
    return {r["name"]: (r["resource_id"], r["instance_type"]) for r in _fleet(1).iter_rows(named=True)}


def test_idle_dev_instances_are_exactly_the_waste(warehouse, fleet):
    rows = warehouse("select resource_id, avg_cpu_pct, monthly_cost from fct_waste")
    assert {r for r, _, _ in rows} == {fleet[n][0] for n in C.PLANTED_WASTE}
    for _, cpu, monthly in rows:
        assert cpu < 5
        assert abs(monthly - RATE["t3.medium"] * 730) < CENT  # on-demand: effective = list


def test_oversized_instance_gets_the_planted_target_and_savings(warehouse, fleet):
    rows = warehouse(
        "select resource_id, current_instance_type, target_instance_type, monthly_savings, "
        "confidence_score from fct_rightsizing_candidates"
    )
    ((name, target),) = C.PLANTED_RIGHTSIZING.items()
    resource, current = fleet[name]
    assert len(rows) == 1 and rows[0][:3] == (resource, current, target)
    assert abs(rows[0][3] - (RATE[current] - Decimal("0.126")) * 730) < CENT  # r5.large $0.126/h
    assert rows[0][4] > 90  # complete, 30 days, steady


def test_office_hours_instances_get_a_schedule(warehouse, fleet):
    rows = warehouse(
        "select resource_id, iso_weekday, idle_hours, first_active_hour, last_active_hour, "
        "monthly_savings from fct_workload_schedules where is_schedulable"
    )
    assert {r[0] for r in rows} == {fleet[n][0] for n in C.PLANTED_SCHEDULES}
    for rid, weekday, idle, first, last, _ in rows:
        assert (idle, first, last) == ((16, 9, 16) if weekday <= 5 else (24, None, None)), (rid, weekday)
    for name in C.PLANTED_SCHEDULES:  # (5 x 16 + 2 x 24) idle hours a week at the m5.large rate
        saving = sum(r[5] for r in rows if r[0] == fleet[name][0])
        assert abs(saving - 128 * RATE["m5.large"] * Decimal(730) / 168) < CENT


def test_stable_baseline_yields_the_planted_commitment(warehouse, fleet):
    flagged = set(C.PLANTED_WASTE) | set(C.PLANTED_RIGHTSIZING) | set(C.PLANTED_SCHEDULES)
    baseline: dict[str, Decimal] = {}
    for inst in C.INSTANCES:  # on-demand instances with no pending optimization run 24/7
        if inst.pricing == "od" and inst.name not in flagged:
            baseline[inst.account] = baseline.get(inst.account, Decimal(0)) + RATE[inst.instance_type]
    rows = warehouse(
        "select sub_account_id, baseline_on_demand_hourly_cost, recommended_hourly_commitment, "
        "monthly_savings, is_stable from fct_commitment_opportunities order by 1"
    )
    assert [r[0] for r in rows] == sorted(baseline)
    for account, hourly, commitment, savings, stable in rows:
        assert hourly == baseline[account] and stable
        assert commitment == baseline[account] * Decimal("0.72")
        assert abs(savings - baseline[account] * Decimal("0.28") * 730) < CENT


def test_portfolio_adds_up_every_finding(warehouse):
    by_category = dict(
        warehouse("select category, sum(monthly_savings) from fct_portfolio_summary group by 1")
    )
    assert by_category == {
        "idle_resources": warehouse("select sum(monthly_savings) from fct_waste")[0][0],
        "rightsizing": warehouse("select sum(monthly_savings) from fct_rightsizing_candidates")[0][0],
        "workload_schedules": warehouse(
            "select sum(monthly_savings) from fct_workload_schedules where is_schedulable"
        )[0][0],
        "commitments": warehouse("select sum(monthly_savings) from fct_commitment_opportunities")[0][0],
    }


def test_utilization_is_complete_for_every_instance_day(warehouse):
    days, instances, completeness = warehouse(
        "select count(distinct usage_date), count(distinct resource_id), min(data_completeness) "
        "from fct_resource_utilization"
    )[0]
    assert (days, instances, completeness) == (92, len(C.INSTANCES), 1.0)
    efficiency = warehouse("select count(*), min(cost_per_cpu_hour) > 0 from fct_resource_efficiency")[0]
    assert efficiency[1]

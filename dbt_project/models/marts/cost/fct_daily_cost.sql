{{ day_partitioned() }}
-- One row per day x account x service x resource x charge category. Incremental by day: Dagster
-- passes the partition window, whose days are deleted and inserted again (day_partitioned()), so
-- a re-run or a restated delivery never double-counts.
with costed as (  -- the day aggregates in the reporting currency (other currencies: fct_other_currency_cost)
    select * from {{ ref('int_cur__line_items_daily') }}
    where {{ partition_window('usage_date') }}
        and billing_currency = {{ reporting_currency() }}
)

select
    {{ cost_key() }} as cost_key,
    usage_date,
    usage_date                          as charge_period_start,
    billing_period_start,
    billing_account_id,
    sub_account_id,
    service_code,
    max(service_name)                   as service_name,
    resource_id,
    charge_category,
    max(region_id)                      as region_id,
    max(instance_type)                  as instance_type,
    max(billing_currency)               as billing_currency,
    max(tag_team)                       as tag_team,
    max(tag_service)                    as tag_service,
    max(tag_customer)                   as tag_customer,
    max(tag_environment)                as tag_environment,
    max(cost_category_team)             as cost_category_team,
    max(cost_category_environment)      as cost_category_environment,
    sum(unblended_cost)                 as billed_cost,
    sum(effective_cost)                 as effective_cost,
    sum(public_on_demand_cost)          as list_cost,
    sum(net_unblended_cost)             as net_billed_cost,
    sum(blended_cost)                   as blended_cost,
    sum(amortization_true_up)           as amortization_true_up,
    sum(upfront_fee)                    as upfront_fee,
    sum(usage_quantity)                 as usage_quantity,
    cast(sum(line_item_count) as {{ dbt.type_bigint() }}) as line_item_count
from costed
group by usage_date, billing_period_start, billing_account_id, sub_account_id, service_code,
    resource_id, charge_category

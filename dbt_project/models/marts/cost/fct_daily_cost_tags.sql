{{ day_partitioned() }}
-- Every user tag downstream: one row per fct_daily_cost row (cost_key) x tag key x tag value,
-- whatever the keys (cost_center, department, workload, name ...). Join on cost_key for any
-- fct_daily_cost column. A row of fct_daily_cost whose line items carry no tag has no row here;
-- its line items with different values of one key split into one row per value.
with costed as (
    select * from {{ ref('int_cur__line_items_daily') }}
    where {{ partition_window('usage_date') }}
        and billing_currency = {{ reporting_currency() }}
),

tagged as (
    select
        usage_date, billing_period_start, sub_account_id, service_code, resource_id, charge_category,
        unblended_cost, effective_cost, line_item_count,
        {{ unnest_map('tags', 'tag_key', 'tag_value') }}
    from costed
)

select
    {{ cost_key() }}                    as cost_key,
    usage_date,
    billing_period_start,
    sub_account_id,
    service_code,
    resource_id,
    charge_category,
    tag_key,
    tag_value,
    sum(unblended_cost)                 as billed_cost,
    sum(effective_cost)                 as effective_cost,
    cast(sum(line_item_count) as {{ dbt.type_bigint() }}) as line_item_count
from tagged
where tag_value is not null and tag_value <> ''
group by usage_date, billing_period_start, sub_account_id, service_code, resource_id, charge_category,
    tag_key, tag_value

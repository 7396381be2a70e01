{{ day_partitioned() }}
-- Usage cost per resource per day (billed, effective, list), the cost side of efficiency: rolled
-- up from the day aggregates in the reporting currency, as fct_daily_cost is (an intermediate
-- model reads intermediate models, never a mart). Incremental by day: it was an ephemeral model
-- the four efficiency marts each recomputed over the whole history (0.16 s each at 20M a month,
-- growing with every month kept); now a refresh computes its day once and the marts read their
-- lookback window of it.
select
    resource_id,
    usage_date,
    max(sub_account_id)         as sub_account_id,
    max(instance_type)          as instance_type,
    sum(unblended_cost)         as billed_cost,
    sum(effective_cost)         as effective_cost,
    sum(public_on_demand_cost)  as list_cost
from {{ ref('int_cur__line_items_daily') }}
where {{ partition_window('usage_date') }}
    and resource_id is not null and charge_category = 'Usage'
    and billing_currency = {{ reporting_currency() }}
group by resource_id, usage_date

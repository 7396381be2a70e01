{{ day_partitioned() }}
-- fct_daily_cost without its resources: daily cost per account x team tag x service, the grain
-- of the API's cost trend and its filters. Thousands of rows a month where fct_daily_cost holds
-- one per resource (millions at 20M line items), so the trend is answered from a small export
-- that loads in milliseconds (and tells the API the reporting currency). Incremental by day with fct_daily_cost.
select
    usage_date,
    sub_account_id,
    tag_team,
    service_code,
    billing_currency,
    sum(billed_cost)        as billed_cost,
    sum(effective_cost)     as effective_cost,
    cast(sum(line_item_count) as {{ dbt.type_bigint() }}) as line_item_count
from {{ ref('fct_daily_cost') }}
where {{ partition_window('usage_date') }}
group by usage_date, sub_account_id, tag_team, service_code, billing_currency

{{ day_partitioned() }}
-- Line items billed in a currency other than the reporting one, per day x account x service x
-- currency: reported here, never added into the cost marts. Each window is cleared first, so a
-- restated delivery that drops them leaves nothing behind.
select
    usage_date,
    billing_period_start,
    sub_account_id,
    service_code,
    billing_currency,
    sum(unblended_cost)     as billed_cost,
    sum(effective_cost)     as effective_cost,
    cast(sum(line_item_count) as {{ dbt.type_bigint() }}) as line_item_count
from {{ ref('int_cur__line_items_daily') }}
where {{ partition_window('usage_date') }}
    and billing_currency <> {{ reporting_currency() }}
group by usage_date, billing_period_start, sub_account_id, service_code, billing_currency

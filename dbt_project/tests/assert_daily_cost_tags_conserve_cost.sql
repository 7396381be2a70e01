-- fct_daily_cost_tags moves money into tag values: per fct_daily_cost row and tag key, its rows
-- never hold more line items than the row, and where every line item carries the key, the
-- values' billed and effective cost add up to the row's exactly. Returns the offending rows.
-- In a day-partition run only the window's days are checked (the other days did not change).
with tags as (
    select cost_key, tag_key, sum(line_item_count) as line_items,
        sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('fct_daily_cost_tags') }}
    where {{ partition_window('usage_date') }}
    group by cost_key, tag_key
),

daily as (
    select * from {{ ref('fct_daily_cost') }}
    where {{ partition_window('usage_date') }}
)

select tags.*, daily.line_item_count, daily.billed_cost as daily_billed_cost
from tags
left join daily on tags.cost_key = daily.cost_key
where daily.cost_key is null
    or tags.line_items > daily.line_item_count
    or (tags.line_items = daily.line_item_count
        and (tags.billed_cost <> daily.billed_cost or tags.effective_cost <> daily.effective_cost))

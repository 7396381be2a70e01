-- fct_cost_trend moves fct_daily_cost's money to a coarser grain: per day, its billed and
-- effective cost and line items equal fct_daily_cost's exactly. Returns the days that differ (in a
-- day-partition run, of the window).
with trend as (
    select usage_date, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(line_item_count) as line_items
    from {{ ref('fct_cost_trend') }}
    where {{ partition_window('usage_date') }}
    group by usage_date
),

daily as (
    select usage_date, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(line_item_count) as line_items
    from {{ ref('fct_daily_cost') }}
    where {{ partition_window('usage_date') }}
    group by usage_date
)

select coalesce(t.usage_date, d.usage_date) as usage_date, t.billed_cost as trend_billed,
    d.billed_cost as daily_billed, t.line_items as trend_line_items, d.line_items as daily_line_items
from trend as t
full outer join daily as d on t.usage_date = d.usage_date
where coalesce(t.billed_cost, 0) <> coalesce(d.billed_cost, 0)
    or coalesce(t.effective_cost, 0) <> coalesce(d.effective_cost, 0)
    or coalesce(t.line_items, 0) <> coalesce(d.line_items, 0)

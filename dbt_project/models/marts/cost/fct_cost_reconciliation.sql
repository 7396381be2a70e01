{{ day_partitioned() }}
-- CUR against Cost Explorer per day x account x service, for unblended and amortized cost, with
-- services named as Cost Explorer names them (the cost_explorer_services seed: EC2 split into
-- Compute and "EC2 - Other", tax as "Tax", ...). Both describe the same bill, so any difference
-- beyond rounding on finalized data is a finding.
with cur_lines as (  -- the window's line items at the grain the naming rules read
    select usage_date, sub_account_id, service_code, service_name, line_item_type,
        coalesce(usage_type, '')    as usage_type,
        sum(unblended_cost)         as unblended_cost,
        sum(effective_cost)         as effective_cost
    from {{ ref('int_cur__line_items_daily') }}
    where {{ partition_window('usage_date') }}
        and billing_currency = {{ reporting_currency() }}
    group by usage_date, sub_account_id, service_code, service_name, line_item_type, coalesce(usage_type, '')
),

named as (  -- every line matches the catch-all rule, so the inner join keeps every dollar
    select cur_lines.*,
        coalesce(nullif(rules.cost_explorer_service, ''), cur_lines.service_name) as ce_service_name,
        row_number() over (
            partition by cur_lines.usage_date, cur_lines.sub_account_id, cur_lines.service_code,
                cur_lines.service_name, cur_lines.line_item_type, cur_lines.usage_type
            order by rules.rule_order) as rule_rank
    from cur_lines
    inner join {{ ref('cost_explorer_services') }} as rules
        on (rules.product_code = '*' or cur_lines.service_code = rules.product_code)
        and (rules.line_item_type = '*' or cur_lines.line_item_type = rules.line_item_type)
        and cur_lines.usage_type like rules.usage_type_like
),

cur as (
    select usage_date, sub_account_id, ce_service_name as service_name,
        sum(unblended_cost) as cur_unblended_cost,
        sum(effective_cost) as cur_amortized_cost
    from named
    where rule_rank = 1
    group by usage_date, sub_account_id, ce_service_name
),

ce as (
    select usage_date, sub_account_id, service_name,
        sum(unblended_cost)  as ce_unblended_cost,
        sum(amortized_cost)  as ce_amortized_cost,
        max(case when is_estimated then 1 else 0 end) as estimated_flag
    from {{ ref('stg_cost_explorer__daily_costs') }}
    where {{ partition_window('usage_date') }}
    group by usage_date, sub_account_id, service_name
),

joined as (
    select
        coalesce(cur.usage_date, ce.usage_date)           as usage_date,
        coalesce(cur.sub_account_id, ce.sub_account_id)   as sub_account_id,
        coalesce(cur.service_name, ce.service_name)       as service_name,
        cur.usage_date is not null                        as in_cur,
        ce.usage_date is not null                         as in_cost_explorer,
        coalesce(ce.estimated_flag, 0) = 1                as is_estimated,
        coalesce(cur.cur_unblended_cost, 0)               as cur_unblended_cost,
        coalesce(ce.ce_unblended_cost, 0)                 as ce_unblended_cost,
        coalesce(cur.cur_amortized_cost, 0)               as cur_amortized_cost,
        coalesce(ce.ce_amortized_cost, 0)                 as ce_amortized_cost
    from cur
    full outer join ce
        on cur.usage_date = ce.usage_date
        and cur.sub_account_id = ce.sub_account_id
        and cur.service_name = ce.service_name
),

diffed as (
    select
        joined.*,
        cast(ce_unblended_cost - cur_unblended_cost as {{ money_type() }}) as unblended_difference,
        cast(ce_amortized_cost - cur_amortized_cost as {{ money_type() }}) as amortized_difference,
        cast(case when abs(ce_unblended_cost - cur_unblended_cost) > abs(ce_amortized_cost - cur_amortized_cost)
            then abs(ce_unblended_cost - cur_unblended_cost)
            else abs(ce_amortized_cost - cur_amortized_cost) end as {{ money_type() }}) as max_abs_difference
    from joined
)

select
    {{ dbt.hash(dbt.concat(["cast(usage_date as " ~ dbt.type_string() ~ ")", "'|'", "sub_account_id",
                            "'|'", "service_name"])) }}            as reconciliation_key,
    usage_date,
    sub_account_id,
    service_name,
    in_cur,
    in_cost_explorer,
    is_estimated,
    cur_unblended_cost,
    ce_unblended_cost,
    unblended_difference,
    cur_amortized_cost,
    ce_amortized_cost,
    amortized_difference,
    max_abs_difference,
    cast(case when cur_unblended_cost = 0 then null
         else unblended_difference / abs(cur_unblended_cost) end as double) as unblended_relative_difference,
    case
        {%- if window_setting('cost_explorer_available', 'FINOPS_DBT_COST_EXPLORER_AVAILABLE') | string | lower
               in ('false', '0') %}
        -- CUR alone: Cost Explorer is not configured or not reachable (the run says why)
        when true then 'cost_explorer_absent'
        {%- endif %}
        when max_abs_difference < 0.005 then 'match'
        when is_estimated then 'estimated'
        when not in_cur then 'missing_in_cur'
        when not in_cost_explorer then 'missing_in_cost_explorer'
        when max_abs_difference <= {{ var('reconciliation_tolerance_usd') }}
            or max_abs_difference <= abs(cur_unblended_cost) * {{ var('reconciliation_tolerance_pct') }} / 100
            then 'within_tolerance'
        else 'mismatch'
    end as status
from diffed

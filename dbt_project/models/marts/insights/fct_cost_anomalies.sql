-- Daily usage cost per service, account, team and customer against a robust weekday-aware
-- baseline: the median of the same weekday of the previous N weeks, with the interquartile range
-- as spread, so the anomaly's own first days barely move it and a spike is flagged every day it
-- lasts (a mean baseline took in the spike's first week and lost days 8-10 of a 10-day spike).
-- A day is anomalous when |z| > warning_z and the change is at least min_impact_usd and
-- min_impact_pct of the scope's baseline. Each anomaly names the usage type, region, resource and
-- service tag that moved most and whether price or volume moved; `alertable` is false when the
-- move is explained by its business driver (the service tag's requests moved alike), when the
-- day's cost was changed by a restatement (fct_cur_restatements reports those), or while the day
-- is too new to be settled. The baseline only looks back: a day's verdict does not change later.
{%- set weeks = var('anomaly_baseline_weeks') | int %}
{%- set lags = [] %}{% for k in range(1, weeks + 1) %}{% do lags.append(7 * k) %}{% endfor %}
{%- set first_window = "partition by dimension, dimension_value, weekday order by usage_date rows between "
    ~ weeks ~ " preceding and 1 preceding" %}
{%- set baseline_window = "partition by dimension, dimension_value, weekday order by usage_date rows between "
    ~ (weeks + 2) ~ " preceding and 1 preceding" %}
{%- set dimensions = [('service', 'service_code'), ('account', 'sub_account_id'),
                      ('team', "coalesce(team, 'unallocated')"), ('customer', 'customer')] %}
{%- set attributes = {
    'usage_type': "coalesce(usage_type, '')",
    'region': "coalesce(region_id, '')",
    'resource': "coalesce(resource_id, '(no resource)')",
    'tag': "coalesce(" ~ dbt.concat(["'service='", "tag_service"]) ~ ", '(untagged)')",
    'service_tag': "coalesce(tag_service, '')",
    'account': "sub_account_id",
    'service': "service_code",
    'team': "coalesce(team, 'unallocated')",
} %}

with usage as (
    select * from {{ ref('int_cost__usage_daily') }}
),

daily_base as (  -- the day's usage summed at the grain the four dimensions are cut from
    select usage_date, service_code, sub_account_id, team, customer, sum(effective_cost) as cost
    from usage
    group by usage_date, service_code, sub_account_id, team, customer
),

daily as (
    {%- for dimension, column in dimensions %}
    select '{{ dimension }}' as dimension, {{ column }} as dimension_value, usage_date, sum(cost) as cost
    from daily_base
    {%- if dimension == 'customer' %}
    where customer is not null
    {%- endif %}
    group by {{ column }}, usage_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

first_days as (
    select dimension, dimension_value, min(usage_date) as first_date
    from daily
    group by dimension, dimension_value
),

usage_days as (
    select distinct usage_date from usage
),

spine as (  -- every day since a value first had cost, so a day without cost counts as 0
    select v.dimension, v.dimension_value, d.usage_date
    from first_days as v
    inner join usage_days as d on v.first_date <= d.usage_date
),

filled as (
    select spine.dimension, spine.dimension_value, spine.usage_date,
        {{ iso_weekday('spine.usage_date') }} as weekday,
        coalesce(daily.cost, 0) as cost
    from spine
    left join daily
        on spine.dimension = daily.dimension and spine.dimension_value = daily.dimension_value
        and spine.usage_date = daily.usage_date
),

first_pass as (  -- anomalous days by the plain robust baseline, to be left out of the real one
    select filled.*,
        {{ window_percentile('cast(cost as double)', 0.5, first_window) }}       as first_median,
        {{ window_percentile('cast(cost as double)', 0.25, first_window) }}      as first_q1,
        {{ window_percentile('cast(cost as double)', 0.75, first_window) }}      as first_q3,
        count(*) over ({{ first_window }})                                       as first_points
    from filled
),

cleaned as (
    select dimension, dimension_value, usage_date, weekday, cost,
        case when {{ is_anomalous('cast(cost as double) - first_median', 'first_median', 'first_q1',
                                  'first_q3', 'first_points') }}
            then null else cast(cost as double) end                              as clean_cost
    from first_pass
),

scored as (  -- the baseline: same weekday, anomalous days left out (NULLs are skipped)
    select cleaned.*,
        {{ window_percentile('clean_cost', 0.5, baseline_window) }}              as baseline_median,
        {{ window_percentile('clean_cost', 0.25, baseline_window) }}             as baseline_q1,
        {{ window_percentile('clean_cost', 0.75, baseline_window) }}             as baseline_q3,
        count(clean_cost) over ({{ baseline_window }})                           as baseline_points
    from cleaned
),

anomalies as (
    select scored.*,
        cast(baseline_median as {{ money_type() }})                              as baseline_cost,
        cost - cast(baseline_median as {{ money_type() }})                       as cost_change,
        {{ robust_z('cast(cost as double) - baseline_median', 'baseline_median', 'baseline_q1',
                    'baseline_q3') }}                                             as z_score
    from scored
    where baseline_points >= {{ var('anomaly_min_baseline_points') }}
),

flagged as (
    select * from anomalies
    where {{ is_anomalous('cast(cost_change as double)', 'baseline_median', 'baseline_q1',
                          'baseline_q3', 'baseline_points') }}
),

tag_daily as (  -- the root cause's service tag, to compare with its business driver
    select usage_date, coalesce(tag_service, '') as service_tag,
        {{ iso_weekday('usage_date') }} as weekday, sum(effective_cost) as cost
    from usage
    group by usage_date, coalesce(tag_service, '')
),

tag_baseline as (
    select usage_date, service_tag, cast(cost as double) as cost,
        {{ window_percentile('cast(cost as double)', 0.5,
            "partition by service_tag, weekday order by usage_date rows between " ~ weeks
            ~ " preceding and 1 preceding") }}                                      as baseline_cost
    from tag_daily
),

requests as (  -- the business driver: requests per application service tag and day
    select usage_date, service_tag, {{ iso_weekday('usage_date') }} as weekday,
        sum(request_count) as request_count
    from {{ ref('stg_business__requests') }}
    group by usage_date, service_tag
),

requests_baseline as (
    select usage_date, service_tag, request_count,
        {{ window_percentile('cast(request_count as double)', 0.5,
            "partition by service_tag, weekday order by usage_date rows between " ~ weeks
            ~ " preceding and 1 preceding") }}                                      as baseline_requests
    from requests
),

restated as (  -- days a re-delivery changed: billing corrections, reported by the restatement mart
    select distinct usage_date, sub_account_id, service_code
    from {{ ref('fct_cur_restatements') }}
    where effective_cost_change <> 0
),

last_day as (
    select max(usage_date) as last_usage_date from usage
),

offsets as (  -- an anomaly day (0) and its baseline days, the same weekday N weeks back
    {%- for days_back in [0] + lags %}
    select {{ days_back }} as days_back
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

wanted as (  -- each flagged value's day and baseline days, as dates: an equi-join below
    select f.dimension, f.dimension_value, f.usage_date, f.baseline_points, f.cost_change,
        o.days_back = 0 as is_current,
        cast({{ dbt.dateadd('day', '-o.days_back', 'f.usage_date') }} as date) as line_date
    from flagged as f
    cross join offsets as o
),

wanted_usage as (  -- the usage lines of those days only (a few days, not the whole history)
    select * from usage
    where usage_date in (select wanted.line_date from wanted)
),

by_dimension as (
    {%- for dimension, column in dimensions %}
    select '{{ dimension }}' as dimension, {{ column }} as dimension_value, usage_date, usage_type,
        region_id, resource_id, tag_service, sub_account_id, service_code, team, effective_cost,
        usage_quantity
    from wanted_usage
    {%- if dimension == 'customer' %}
    where customer is not null
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

window_lines as (  -- the anomaly day and its baseline days, line by line
    select w.dimension, w.dimension_value, w.usage_date, w.baseline_points, w.cost_change, w.is_current,
        u.usage_type, u.region_id, u.resource_id, u.tag_service, u.sub_account_id, u.service_code, u.team,
        u.effective_cost, u.usage_quantity
    from wanted as w
    inner join by_dimension as u
        on w.dimension = u.dimension and w.dimension_value = u.dimension_value
        and w.line_date = u.usage_date
),

contributions as (
    {%- for attribute, expression in attributes.items() %}
    select dimension, dimension_value, usage_date, '{{ attribute }}' as attribute,
        {{ expression }} as attribute_value,
        sum(case when is_current then effective_cost else 0 end)
            - sum(case when is_current then 0 else effective_cost end) / max(baseline_points) as change,
        sum(case when is_current then usage_quantity else 0 end)                            as current_quantity,
        sum(case when is_current then 0 else usage_quantity end) / max(baseline_points)     as baseline_quantity,
        sum(case when is_current then 0 else effective_cost end) / max(baseline_points)     as baseline_cost,
        max(cost_change)                                                                    as total_change
    from window_lines
    group by dimension, dimension_value, usage_date, {{ expression }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked as (
    select contributions.*,
        row_number() over (
            partition by dimension, dimension_value, usage_date, attribute
            order by case when total_change >= 0 then change else -change end desc, attribute_value
        ) as rank_in_attribute
    from contributions
),

top_cause as (
    select dimension, dimension_value, usage_date,
        {%- for attribute in attributes %}
        max(case when attribute = '{{ attribute }}' then attribute_value end) as root_cause_{{ attribute }},
        {%- endfor %}
        max(case when attribute = 'usage_type' then change end)               as usage_type_change,
        max(case when attribute = 'usage_type' then current_quantity end)     as current_quantity,
        max(case when attribute = 'usage_type' then baseline_quantity end)    as baseline_quantity,
        max(case when attribute = 'usage_type' then baseline_cost end)        as usage_type_baseline_cost
    from ranked
    where rank_in_attribute = 1
    group by dimension, dimension_value, usage_date
),

explained as (
    select top_cause.*,
        -- volume effect at the baseline unit price; new or vanished usage is all volume
        case when top_cause.baseline_quantity > 0
            then cast(top_cause.usage_type_baseline_cost as double) / top_cause.baseline_quantity
                 * (top_cause.current_quantity - top_cause.baseline_quantity)
            else cast(top_cause.usage_type_change as double) end                        as volume_effect,
        tb.baseline_cost                                                         as tag_baseline_cost,
        cast(tb.cost - tb.baseline_cost as double)                               as tag_change,
        rb.request_count / nullif(rb.baseline_requests, 0) - 1                   as driver_change_ratio,
        round(100.0 * (rb.request_count / nullif(rb.baseline_requests, 0) - 1), 1) as driver_change_pct
    from top_cause
    left join requests_baseline as rb
        on top_cause.root_cause_service_tag = rb.service_tag and top_cause.usage_date = rb.usage_date
    left join tag_baseline as tb
        on top_cause.root_cause_service_tag = tb.service_tag and top_cause.usage_date = tb.usage_date
),

episodes as (  -- consecutive anomalous days of a value in one direction form one episode
    select flagged.*,
        case when cost_change > 0 then 'increase' else 'decrease' end as direction,
        {{ dbt.datediff("cast('2000-01-01' as date)", 'usage_date', 'day') }} - row_number() over (
            partition by dimension, dimension_value, case when cost_change > 0 then 1 else 0 end
            order by usage_date) as island
    from flagged
),

final as (
select
    {{ dbt.hash(dbt.concat(["e.dimension", "'|'", "e.dimension_value", "'|'",
                            "cast(e.usage_date as " ~ dbt.type_string() ~ ")"])) }} as anomaly_id,
    e.usage_date,
    e.dimension,
    e.dimension_value,
    e.weekday,
    cast(e.cost as {{ money_type() }})                                    as cost,
    cast(e.baseline_cost as {{ money_type() }})                           as baseline_cost,
    cast(e.cost_change as {{ money_type() }})                             as cost_change,
    round(cast(e.z_score as double), 2)                                   as z_score,
    case when abs(e.z_score) > {{ var('anomaly_critical_z') }} then 'critical' else 'warning' end as severity,
    e.direction,
    min(e.usage_date) over (partition by e.dimension, e.dimension_value, e.direction, e.island)
                                                                          as episode_start,
    x.root_cause_usage_type,
    x.root_cause_region,
    x.root_cause_resource                                                 as root_cause_resource_id,
    x.root_cause_tag,
    x.root_cause_account                                                  as sub_account_id,
    x.root_cause_service                                                  as service_code,
    x.root_cause_team                                                     as team,
    round(cast(x.usage_type_change as double) / cast(e.cost_change as double), 4) as root_cause_share,
    case when abs(x.volume_effect) >= abs(cast(x.usage_type_change as double) - x.volume_effect)
        then 'volume' else 'price' end                                    as change_driver,
    cast(x.volume_effect as {{ money_type() }})                           as volume_effect,
    cast(cast(x.usage_type_change as double) - x.volume_effect as {{ money_type() }}) as price_effect,
    e.baseline_points,
    x.driver_change_pct,
    -- what is left of the change once the root cause's service tag follows its requests is
    -- below the anomaly's own minimum impact: a business volume move, not an alert
    coalesce(x.driver_change_ratio is not null and x.tag_baseline_cost is not null
        and abs(x.tag_change) >= 0.5 * abs(cast(e.cost_change as double))
        and abs(cast(e.cost_change as double) - x.tag_baseline_cost * x.driver_change_ratio) < greatest(
            {{ var('anomaly_min_impact_usd') }},
            abs(e.baseline_median) * {{ var('anomaly_min_impact_pct') }} / 100.0),
        false)                                                            as explained_by_driver,
    r.usage_date is not null                                              as restated,
    e.usage_date <= {{ dbt.dateadd('day', -(var('anomaly_settle_days') | int), 'l.last_usage_date') }} as settled
from episodes as e
inner join explained as x
    on e.dimension = x.dimension and e.dimension_value = x.dimension_value and e.usage_date = x.usage_date
cross join last_day as l
left join restated as r
    on e.usage_date = r.usage_date and x.root_cause_account = r.sub_account_id
    and x.root_cause_service = r.service_code
)

select
    final.*,
    not explained_by_driver and not restated and settled                  as alertable
from final

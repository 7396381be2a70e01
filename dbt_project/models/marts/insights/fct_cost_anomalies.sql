-- Daily usage cost per service, account, team and customer against a weekday-aware baseline
-- (the same weekday of the previous N weeks, so weekend dips are expected, not anomalous). A day
-- is anomalous when |z| > warning_z and the change is at least min_impact_usd; each anomaly names
-- the usage type, region, resource and service tag that moved most and whether price or volume
-- moved. The baseline only looks back, so a day's verdict is the same whenever it is computed.
{%- set weeks = var('anomaly_baseline_weeks') | int %}
{%- set lags = [] %}{% for k in range(1, weeks + 1) %}{% do lags.append(7 * k) %}{% endfor %}
{%- set baseline_window = "partition by dimension, dimension_value, weekday order by usage_date rows between "
    ~ weeks ~ " preceding and 1 preceding" %}
{%- set attributes = {
    'usage_type': "coalesce(usage_type, '')",
    'region': "coalesce(region_id, '')",
    'resource': "coalesce(resource_id, '(no resource)')",
    'tag': "coalesce(" ~ dbt.concat(["'service='", "tag_service"]) ~ ", '(untagged)')",
    'account': "sub_account_id",
    'service': "service_code",
    'team': "coalesce(team, 'unallocated')",
} %}

with usage as (
    select * from {{ ref('int_cost__usage_daily') }}
),

by_dimension as (
    {%- for dimension, column in [('service', 'service_code'), ('account', 'sub_account_id'),
                                  ('team', "coalesce(team, 'unallocated')"), ('customer', 'customer')] %}
    select '{{ dimension }}' as dimension, {{ column }} as dimension_value, usage_date, usage_type,
        region_id, resource_id, tag_service, sub_account_id, service_code, team, effective_cost,
        usage_quantity
    from usage
    {%- if dimension == 'customer' %}
    where customer is not null
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

daily as (
    select dimension, dimension_value, usage_date, sum(effective_cost) as cost
    from by_dimension
    group by dimension, dimension_value, usage_date
),

spine as (  -- every day since a value first had cost, so a day without cost counts as 0
    select v.dimension, v.dimension_value, d.usage_date
    from (select dimension, dimension_value, min(usage_date) as first_date
          from daily group by dimension, dimension_value) as v
    inner join (select distinct usage_date from usage) as d on d.usage_date >= v.first_date
),

filled as (
    select spine.dimension, spine.dimension_value, spine.usage_date,
        {{ iso_weekday('spine.usage_date') }} as weekday,
        coalesce(daily.cost, 0) as cost
    from spine
    left join daily
        on daily.dimension = spine.dimension and daily.dimension_value = spine.dimension_value
        and daily.usage_date = spine.usage_date
),

scored as (
    select filled.*,
        sum(cost) over ({{ baseline_window }})                                   as baseline_total,
        count(*) over ({{ baseline_window }})                                    as baseline_points,
        stddev_samp(cast(cost as double)) over ({{ baseline_window }})           as baseline_stddev
    from filled
),

measured as (
    select scored.*,
        baseline_total / baseline_points                                         as baseline_cost,
        cost - baseline_total / baseline_points                                  as cost_change
    from scored
    where baseline_points >= {{ var('anomaly_min_baseline_points') }}
),

anomalies as (
    select measured.*,
        cast(cost_change as double) / greatest(
            coalesce(baseline_stddev, 0),
            abs(cast(baseline_cost as double)) * {{ var('anomaly_min_stddev_pct') }} / 100.0,
            1.0)                                                                   as z_score
    from measured
),

flagged as (
    select * from anomalies
    where abs(z_score) > {{ var('anomaly_warning_z') }}
        and abs(cost_change) >= {{ var('anomaly_min_impact_usd') }}
),

window_lines as (  -- the anomaly day and its baseline days, line by line
    select f.dimension, f.dimension_value, f.usage_date, f.baseline_points, f.cost_change,
        u.usage_date = f.usage_date as is_current,
        u.usage_type, u.region_id, u.resource_id, u.tag_service, u.sub_account_id, u.service_code, u.team,
        u.effective_cost, u.usage_quantity
    from flagged as f
    inner join by_dimension as u
        on u.dimension = f.dimension and u.dimension_value = f.dimension_value
        and (u.usage_date = f.usage_date
             or {{ dbt.datediff('u.usage_date', 'f.usage_date', 'day') }} in ({{ lags | join(', ') }}))
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
        case when baseline_quantity > 0
            then cast(usage_type_baseline_cost as double) / baseline_quantity
                 * (current_quantity - baseline_quantity)
            else cast(usage_type_change as double) end                        as volume_effect
    from top_cause
),

episodes as (  -- consecutive anomalous days of a value in one direction form one episode
    select flagged.*,
        case when cost_change > 0 then 'increase' else 'decrease' end as direction,
        {{ dbt.datediff("cast('2000-01-01' as date)", 'usage_date', 'day') }} - row_number() over (
            partition by dimension, dimension_value, case when cost_change > 0 then 1 else 0 end
            order by usage_date) as island
    from flagged
)

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
    e.baseline_points
from episodes as e
inner join explained as x
    on x.dimension = e.dimension and x.dimension_value = e.dimension_value and x.usage_date = e.usage_date

-- Share of each month's cost that carries each allocation tag, over all cost and over taggable
-- cost (line items with a resource; tax and credits cannot be tagged).
{% set tags = ['team', 'service', 'customer', 'environment'] %}
with cost as (
    select {{ dbt.date_trunc('month', 'usage_date') }} as billing_month, resource_id, effective_cost,
        tag_team, tag_service, tag_customer, tag_environment
    from {{ ref('fct_daily_cost') }}
),

per_tag as (
    {% for tag in tags %}
    select billing_month, '{{ tag }}' as tag_key,
        sum(effective_cost)                                                          as total_cost,
        sum(case when resource_id is not null then effective_cost else 0 end)        as taggable_cost,
        sum(case when tag_{{ tag }} is not null then effective_cost else 0 end)      as tagged_cost
    from cost
    group by billing_month
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    cast(billing_month as date)                                 as billing_month,
    tag_key,
    total_cost,
    taggable_cost,
    tagged_cost,
    cast(total_cost - tagged_cost as {{ money_type() }})        as untagged_cost,
    round(cast(100 * tagged_cost / nullif(total_cost, 0) as double), 2)     as coverage_pct,
    round(cast(100 * tagged_cost / nullif(taggable_cost, 0) as double), 2)  as taggable_coverage_pct
from per_tag

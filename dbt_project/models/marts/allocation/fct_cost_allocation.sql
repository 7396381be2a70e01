{{ day_partitioned() }}
-- Every dollar of the day assigned to team / application service / customer / environment:
-- customer-tagged cost goes to that customer; cost of the shared services (shared rules of the
-- business data) is split by each customer's share of that service's requests that day; cost
-- with a team tag stays with the team, else with the team its cost category names; the rest is
-- the explicit unallocated bucket. Environment: the tag, else the cost category. The last
-- customer of a split takes the remainder, so the parts sum to the cost exactly.
with cost as (
    select cost_key, usage_date, sub_account_id, service_code,
        coalesce(tag_team, cost_category_team) as tag_team, tag_team is null as team_from_category,
        tag_service, tag_customer,
        coalesce(tag_environment, cost_category_environment) as tag_environment, billed_cost, effective_cost
    from {{ ref('fct_daily_cost') }}
    where {{ partition_window('usage_date') }}
),

shares as (
    select usage_date, service_tag, customer_id, request_count,
        sum(request_count) over (partition by usage_date, service_tag)  as total_requests,
        row_number() over (partition by usage_date, service_tag order by customer_id desc) as reverse_rank
    from {{ ref('stg_business__requests') }}
    where {{ partition_window('usage_date') }} and request_count > 0
),

classified as (
    select cost.*,
        case
            when cost.tag_customer is not null then 'customer_tag'
            when rules.service_tag is not null
                and exists (select 1 from shares where shares.usage_date = cost.usage_date
                            and shares.service_tag = cost.tag_service) then 'shared_split'
            when rules.service_tag is not null then 'unallocated_shared_without_requests'
            when cost.tag_team is not null and not cost.team_from_category then 'team_tag'
            when cost.tag_team is not null then 'cost_category'
            else 'unallocated_untagged'
        end as allocation_method
    from cost
    left join {{ ref('stg_business__shared_rules') }} as rules on cost.tag_service = rules.service_tag
),

split as (
    select c.cost_key, c.usage_date, c.sub_account_id, c.service_code, c.tag_team, c.tag_service,
        s.customer_id, c.tag_environment, c.allocation_method, s.reverse_rank,
        c.billed_cost, c.effective_cost,
        cast(c.billed_cost * s.request_count / s.total_requests as {{ money_type() }})    as billed_part,
        cast(c.effective_cost * s.request_count / s.total_requests as {{ money_type() }}) as effective_part
    from classified as c
    inner join shares as s on c.usage_date = s.usage_date and c.tag_service = s.service_tag
    where c.allocation_method = 'shared_split'
),

split_exact as (
    select cost_key, usage_date, sub_account_id, service_code, tag_team, tag_service, customer_id,
        tag_environment, allocation_method,
        -- cast: Spark narrows the scale of decimal differences; money stays decimal(38, 10)
        cast(case when reverse_rank = 1
            then billed_cost - (sum(billed_part) over (partition by cost_key) - billed_part)
            else billed_part end as {{ money_type() }})     as billed_cost,
        cast(case when reverse_rank = 1
            then effective_cost - (sum(effective_part) over (partition by cost_key) - effective_part)
            else effective_part end as {{ money_type() }})  as effective_cost
    from split
),

allocated as (
    select usage_date, sub_account_id, service_code, tag_team, tag_service, tag_customer as customer_id,
        tag_environment, allocation_method, billed_cost, effective_cost
    from classified
    where allocation_method <> 'shared_split'
    union all
    select usage_date, sub_account_id, service_code, tag_team, tag_service, customer_id,
        tag_environment, allocation_method, billed_cost, effective_cost
    from split_exact
)

select
    {{ dbt.hash(dbt.concat([
        "cast(usage_date as " ~ dbt.type_string() ~ ")", "'|'", "sub_account_id", "'|'", "service_code",
        "'|'", "coalesce(tag_team, '')", "'|'", "coalesce(tag_service, '')", "'|'",
        "coalesce(customer_id, '')", "'|'", "coalesce(tag_environment, '')", "'|'", "allocation_method"])) }}
                                            as allocation_key,
    usage_date,
    sub_account_id,
    service_code,
    coalesce(tag_team, 'unallocated')       as team,
    coalesce(tag_service, 'unallocated')    as application_service,
    customer_id,
    coalesce(tag_environment, 'unallocated') as environment,
    allocation_method,
    allocation_method like 'unallocated%'   as is_unallocated,
    cast(sum(billed_cost) as {{ money_type() }})    as billed_cost,
    cast(sum(effective_cost) as {{ money_type() }}) as effective_cost
from allocated
group by usage_date, sub_account_id, service_code, tag_team, tag_service, customer_id,
    tag_environment, allocation_method

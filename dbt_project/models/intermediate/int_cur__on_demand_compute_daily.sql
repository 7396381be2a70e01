-- On-demand EC2 instance spend per account, resource and day: the spend a Savings Plan or
-- Reserved Instance could cover (usage already covered by a commitment is excluded).
select
    usage_date,
    sub_account_id,
    resource_id,
    sum(unblended_cost) as on_demand_cost
from {{ ref('int_cur__usage_and_credits_daily') }}
where line_item_type = 'Usage' and service_code = 'AmazonEC2' and usage_type like '%BoxUsage%'
group by usage_date, sub_account_id, resource_id

-- Cost Explorer's daily cost per linked account and service (the SERVICE, LINKED_ACCOUNT query),
-- the grain CUR is reconciled at. Other GroupBy sets describe the same spend and are not summed.
with source as (
    select * from {{ source('raw_cost_explorer', 'daily') }}
    where group_1_type = 'DIMENSION:SERVICE' and group_2_type = 'DIMENSION:LINKED_ACCOUNT'
)

select
    cast(usage_date as date)                as usage_date,
    group_2                                 as sub_account_id,
    group_1                                 as service_name,
    source_account,
    estimated                               as is_estimated,
    {{ money('unblended_cost') }}           as unblended_cost,
    {{ money('amortized_cost') }}           as amortized_cost,
    {{ money('net_unblended_cost') }}       as net_unblended_cost,
    cast(usage_quantity as double)          as usage_quantity
from source

{{ config(materialized='view') }}
-- What each re-delivery of a billing period changed, per day x account x service. A view over
-- the diff files, so it is current as soon as a restated delivery is ingested.
select
    billing_period,
    old_delivery_id,
    new_delivery_id,
    cast(usage_date as date)                              as usage_date,
    sub_account_id,
    service_code,
    cast(old_unblended_cost as {{ money_type() }})        as old_billed_cost,
    cast(new_unblended_cost as {{ money_type() }})        as new_billed_cost,
    cast(new_unblended_cost - old_unblended_cost as {{ money_type() }}) as billed_cost_change,
    cast(old_effective_cost as {{ money_type() }})        as old_effective_cost,
    cast(new_effective_cost as {{ money_type() }})        as new_effective_cost,
    cast(new_effective_cost - old_effective_cost as {{ money_type() }}) as effective_cost_change,
    cast(detected_at as {{ dbt.type_timestamp() }})     as detected_at
from {{ source('raw_cur', 'restatements') }}

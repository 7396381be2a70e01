-- The billing auditor: per billing period x account x service, expected charge (usage quantity x
-- the public price when the period opened) against what was billed. Every cell whose difference
-- reaches a cent is a candidate; validation signals explain it before anyone is alerted:
-- credits, refunds, a price change inside the period, billing-cycle timing (usage of the
-- period's last days billed at the start of the next), a restated delivery, the same rate ratio
-- as the previous period, commitments (Savings Plans, RIs), and magnitude. What no signal explains
-- stays open with a diagnosis. Usage of one period billed in the next (a period boundary) is a
-- candidate on both sides, matched as a pair. One row per candidate; resolution_reason names the
-- event that explains it (a standing commitment discount only when no event does).
{%- set cent = 0.01 %}
{%- set parts = ['credit', 'refund', 'price_change', 'billing_cycle_timing', 'restatement',
                 'historical_pattern', 'commitment_discount'] %}
with parts as (
    select * from {{ ref('int_audit__usage_type_periods') }}
),

timing as (  -- unbilled usage at a period's end, billed (without quantity) as the next one opens
    select p.billing_period_start as period_start, n.billing_period_start as next_period_start,
        p.sub_account_id, p.service_code, p.usage_type,
        p.unbilled_at_period_end, n.without_usage_at_period_start
    from parts as p
    inner join parts as n
        on p.sub_account_id = n.sub_account_id and p.service_code = n.service_code
        and p.usage_type = n.usage_type
        and n.billing_period_start = {{ dbt.dateadd('month', 1, 'p.billing_period_start') }}
    where p.unbilled_at_period_end < 0 and n.without_usage_at_period_start > 0
        and abs(p.unbilled_at_period_end + n.without_usage_at_period_start) <= {{ cent }}
),

per_type as (
    select parts.*,
        coalesce(shifted_out.unbilled_at_period_end, 0)      as timing_out,
        coalesce(shifted_in.without_usage_at_period_start, 0) as timing_in
    from parts
    left join timing as shifted_out
        on parts.billing_period_start = shifted_out.period_start
        and parts.sub_account_id = shifted_out.sub_account_id
        and parts.service_code = shifted_out.service_code and parts.usage_type = shifted_out.usage_type
    left join timing as shifted_in
        on parts.billing_period_start = shifted_in.next_period_start
        and parts.sub_account_id = shifted_in.sub_account_id
        and parts.service_code = shifted_in.service_code and parts.usage_type = shifted_in.usage_type
),

cells as (
    select billing_period_start, sub_account_id, service_code,
        sum(expected_cost)                        as expected_cost,
        sum(billed_cost)                          as billed_cost,
        sum(commitment_part)                      as commitment_discount,
        sum(price_part)                           as price_change,
        sum(credit_part)                          as credit,
        sum(refund_part)                          as refund,
        sum(timing_out + timing_in)               as billing_cycle_timing,
        sum(timing_out)                           as timing_to_next,
        sum(timing_in)                            as timing_from_previous,
        sum(late_billed_part)                     as billed_from_previous_period,
        sum(unbilled_part - timing_out)           as unbilled_rest,
        sum(without_usage_part - timing_in)       as without_usage_rest,
        sum(rate_part)                            as rate_rest
    from per_type
    group by billing_period_start, sub_account_id, service_code
),

boundary as (  -- usage billed a period late, seen from the period it was used in
    select {{ dbt.dateadd('month', -1, 'billing_period_start') }} as usage_period_start,
        sub_account_id, service_code, sum(billed_from_previous_period) as billed_in_next_period
    from cells
    group by {{ dbt.dateadd('month', -1, 'billing_period_start') }}, sub_account_id, service_code
),

paired as (
    select cells.*, coalesce(b.billed_in_next_period, 0) as billed_in_next_period
    from cells
    left join boundary as b
        on cast(b.usage_period_start as date) = cells.billing_period_start
        and cells.sub_account_id = b.sub_account_id and cells.service_code = b.service_code
),

restated as (
    select {{ dbt.date_trunc('month', 'usage_date') }} as billing_period_start, sub_account_id,
        service_code, sum(effective_cost_change) as restated_change
    from {{ ref('fct_cur_restatements') }}
    group by {{ dbt.date_trunc('month', 'usage_date') }}, sub_account_id, service_code
),

signals as (
    select paired.*,
        paired.billed_cost - paired.expected_cost as difference,
        case when paired.without_usage_rest <> 0 and r.restated_change is not null
                and abs(paired.without_usage_rest) <= abs(r.restated_change) + {{ cent }}
            then paired.without_usage_rest else 0 end as restatement,
        case when paired.expected_cost <> 0
            then cast(paired.rate_rest as double) / cast(paired.expected_cost as double) end
            as rate_ratio
    from paired
    left join restated as r
        on cast(r.billing_period_start as date) = paired.billing_period_start
        and paired.sub_account_id = r.sub_account_id and paired.service_code = r.service_code
),

patterned as (
    select signals.*,
        case when abs(rate_rest) >= {{ cent }} and abs(rate_ratio - lag(rate_ratio) over (
                partition by sub_account_id, service_code order by billing_period_start))
                <= {{ var('audit_pattern_tolerance_pct') }} / 100.0
            then rate_rest else 0 end as historical_pattern
    from signals
),

resolved as (
    select patterned.*,
        difference - ({{ parts | join(' + ') }}) as unexplained
    from patterned
    where abs(difference) >= {{ cent }}
        or abs(billed_from_previous_period) >= {{ cent }} or abs(billed_in_next_period) >= {{ cent }}
),

judged as (
    select resolved.*,
        abs(unexplained) < {{ cent }} as fully_explained,
        abs(unexplained) < {{ var('audit_min_abs_usd') }}
            and abs(unexplained) < abs(expected_cost) * {{ var('audit_min_rel_pct') }} / 100.0 as immaterial,
        case  -- the largest event that explains the cell; a standing commitment discount last
            {%- set events = parts[:-1] %}
            {%- for part in events %}
            when abs({{ part }}) >= {{ cent }}
                and abs({{ part }}) >= greatest({% for other in events %}abs({{ other }}){% if not loop.last %}, {% endif %}{% endfor %})
                then '{{ part }}'
            {%- endfor %}
            when abs(commitment_discount) >= {{ cent }} then 'commitment_discount'
            when abs(billed_from_previous_period) >= {{ cent }} or abs(billed_in_next_period) >= {{ cent }}
                then 'period_boundary'
        end as primary_reason
    from resolved
)

select
    {{ dbt.hash(dbt.concat(["cast(billing_period_start as " ~ dbt.type_string() ~ ")", "'|'",
                            "sub_account_id", "'|'", "service_code"])) }} as audit_id,
    billing_period_start,
    sub_account_id,
    service_code,
    cast(expected_cost as {{ money_type() }})               as expected_cost,
    cast(billed_cost as {{ money_type() }})                 as billed_cost,
    cast(difference as {{ money_type() }})                  as difference,
    {%- for part in parts %}
    cast({{ part }} as {{ money_type() }})                  as {{ part }},
    {%- endfor %}
    cast(unexplained as {{ money_type() }})                 as unexplained,
    cast(billed_from_previous_period as {{ money_type() }}) as billed_from_previous_period,
    cast(billed_in_next_period as {{ money_type() }})       as billed_in_next_period,
    case  -- the other side of a boundary shift: the period the same usage was used or billed in
        when abs(billed_from_previous_period) >= {{ cent }} or abs(timing_from_previous) >= {{ cent }}
            then cast({{ dbt.dateadd('month', -1, 'billing_period_start') }} as date)
        when abs(billed_in_next_period) >= {{ cent }} or abs(timing_to_next) >= {{ cent }}
            then cast({{ dbt.dateadd('month', 1, 'billing_period_start') }} as date)
    end                                                     as boundary_pair_period,
    case when fully_explained or immaterial then 'auto_resolved' else 'open' end as status,
    case
        when fully_explained then primary_reason
        when immaterial then coalesce(primary_reason, 'immaterial')
    end                                                     as resolution_reason,
    trim({{ dbt.concat([
        "case when abs(commitment_discount) >= 0.01 then 'commitment_discount ' else '' end",
        "case when abs(price_change) >= 0.01 then 'price_change ' else '' end",
        "case when abs(credit) >= 0.01 then 'credit ' else '' end",
        "case when abs(refund) >= 0.01 then 'refund ' else '' end",
        "case when abs(billed_from_previous_period) + abs(billed_in_next_period) >= 0.01 then 'period_boundary ' else '' end",
        "case when abs(billing_cycle_timing) >= 0.01 then 'billing_cycle_timing ' else '' end",
        "case when abs(restatement) >= 0.01 then 'restatement ' else '' end",
        "case when abs(historical_pattern) >= 0.01 then 'historical_pattern ' else '' end",
        "case when immaterial and not fully_explained then 'immaterial ' else '' end",
    ]) }})                                                  as signals,
    case
        when fully_explained or immaterial then null
        when abs(unbilled_rest) >= abs(without_usage_rest - restatement)
            and abs(unbilled_rest) >= abs(rate_rest - historical_pattern) then 'unbilled_usage'
        when abs(without_usage_rest - restatement) >= abs(rate_rest - historical_pattern)
            then 'billed_without_usage'
        else 'rate_differs_from_public_price'
    end                                                     as diagnosis,
    cast(-unbilled_rest as {{ money_type() }})              as unbilled_cost
from judged

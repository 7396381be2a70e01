-- The auditor moves money between explanations: its parts must add up to the difference exactly,
-- and the difference must be billed - expected. Any row returned fails the test.
select audit_id
from {{ ref('fct_billing_audit') }}
where difference <> billed_cost - expected_cost
    or difference <> commitment_discount + price_change + credit + refund + billing_cycle_timing
        + restatement + historical_pattern + unexplained

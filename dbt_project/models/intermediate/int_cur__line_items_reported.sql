-- The costed line items in the reporting currency: what every cost mart is built from. Line
-- items in another currency are never added to them (fct_other_currency_cost reports those).
select *
from {{ ref('int_cur__line_items_costed') }}
where billing_currency = {{ reporting_currency() }}

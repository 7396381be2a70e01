{#- The one currency the cost marts report in: var('reporting_currency') (FINOPS_CURRENCY), else
    the currency of most line items (AWS bills in USD unless the payer is AISPL / AWS China).
    Line items in any other currency never enter those marts: they are reported apart, in
    fct_other_currency_cost, so no total adds two currencies. -#}
{% macro reporting_currency() -%}
  {%- set pinned = var('reporting_currency', env_var('FINOPS_CURRENCY', '')) -%}
  {%- if pinned -%}
    '{{ pinned | upper }}'
  {%- else -%}
    (select billing_currency from {{ ref('int_cur__line_items_daily') }}
     group by billing_currency order by sum(line_item_count) desc, billing_currency limit 1)
  {%- endif -%}
{%- endmacro %}

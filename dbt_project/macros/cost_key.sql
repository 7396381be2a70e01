{#- The grain of fct_daily_cost as one key: day, billing period (usage of one day can be billed
    in two periods), account, service, resource and charge category. -#}
{% macro cost_key() -%}
    {{ dbt.hash(dbt.concat([
        "cast(usage_date as " ~ dbt.type_string() ~ ")", "'|'",
        "cast(billing_period_start as " ~ dbt.type_string() ~ ")", "'|'", "sub_account_id", "'|'",
        "service_code", "'|'", "coalesce(resource_id, '')", "'|'", "charge_category"])) }}
{%- endmacro %}

{#- One row per entry of a MAP column, as two columns (key, value); rows with an empty map
    give none. -#}
{% macro unnest_map(column, key_alias, value_alias) -%}
  {{ return(adapter.dispatch('unnest_map', 'finops')(column, key_alias, value_alias)) }}
{%- endmacro %}

{% macro default__unnest_map(column, key_alias, value_alias) -%}
    unnest(map_keys({{ column }})) as {{ key_alias }}, unnest(map_values({{ column }})) as {{ value_alias }}
{%- endmacro %}

{% macro spark__unnest_map(column, key_alias, value_alias) -%}
    explode({{ column }}) as ({{ key_alias }}, {{ value_alias }})
{%- endmacro %}

{#- Value of one key of a MAP column (CUR 2.0 resource_tags), portable across engines. -#}
{% macro map_value(column, key) -%}
  {{ return(adapter.dispatch('map_value', 'finops')(column, key)) }}
{%- endmacro %}

{% macro default__map_value(column, key) -%}
  {{ column }}['{{ key }}']
{%- endmacro %}

{% macro trino__map_value(column, key) -%}
  element_at({{ column }}, '{{ key }}')
{%- endmacro %}

{% macro athena__map_value(column, key) -%}
  element_at({{ column }}, '{{ key }}')
{%- endmacro %}

{#- The four configured tags (vars tag_key_*) of a resource_tags map, an empty value as null: the
    staging line items and the day aggregates (which read them from their summed rows) agree. -#}
{% macro tag_columns(column) -%}
  nullif({{ map_value(column, var('tag_key_team')) }}, '')        as tag_team,
    nullif({{ map_value(column, var('tag_key_service')) }}, '')     as tag_service,
    nullif({{ map_value(column, var('tag_key_customer')) }}, '')    as tag_customer,
    nullif({{ map_value(column, var('tag_key_environment')) }}, '') as tag_environment
{%- endmacro %}

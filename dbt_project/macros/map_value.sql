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

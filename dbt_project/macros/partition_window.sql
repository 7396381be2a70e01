{#- The day-partition window Dagster passes as --vars {min_date, max_date} (end exclusive).
    Without vars (a plain `dbt build`) every day is processed. -#}
{% macro partition_window(column) -%}
  {%- if var('min_date', none) is not none -%}
    {{ column }} >= cast('{{ var("min_date") }}' as date)
    and {{ column }} < cast('{{ var("max_date") }}' as date)
  {%- else -%}
    1 = 1
  {%- endif -%}
{%- endmacro %}

{#- The day-partition window (end exclusive). Dagster passes it in the environment
    (FINOPS_DBT_MIN_DATE / FINOPS_DBT_MAX_DATE), not as --vars: dbt parses the whole project again
    whenever --vars change (3-4 s a run here), but only the models that read an env var when its
    value changes. --vars {min_date, max_date} still win (by hand, unit tests; null = no window).
    Without either (a plain `dbt build`) every day is processed. -#}
{% macro partition_window(column) -%}
  {%- set min_date = window_setting('min_date', 'FINOPS_DBT_MIN_DATE') -%}
  {%- set max_date = window_setting('max_date', 'FINOPS_DBT_MAX_DATE') -%}
  {%- if min_date -%}
    {{ column }} >= cast('{{ min_date }}' as date)
    and {{ column }} < cast('{{ max_date }}' as date)
  {%- else -%}
    1 = 1
  {%- endif -%}
{%- endmacro %}

{#- A run setting: the var when one is given (even null), else the environment variable. -#}
{% macro window_setting(var_name, env_name) -%}
  {%- set value = var(var_name, '__from_env__') -%}
  {{- return(env_var(env_name, '') if value == '__from_env__' else value) -}}
{%- endmacro %}

{#- Pre-hook of every incremental model: the window's days are deleted before they are inserted
    again. delete+insert alone deletes only the days its new rows hold, so a day that a
    re-delivered billing period no longer holds (or one left with only other-currency lines)
    kept its old rows and its old cost. -#}
{% macro clear_window(column='usage_date') -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ partition_window(column) }}
  {%- endif -%}
{%- endmacro %}

{#- The configuration every day-partitioned model shares: incremental on usage_date, the window's
    days cleared and inserted again (delete+insert; clear_window first), and a changed schema is
    an error, not a silent drop. `{{ day_partitioned() }}` at the top of a model. -#}
{% macro day_partitioned() -%}
  {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='usage_date',
            on_schema_change='fail', pre_hook="{{ clear_window() }}") }}
{%- endmacro %}

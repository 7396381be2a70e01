{#- The day-partition window (end exclusive). Dagster passes it in the environment
    (FINOPS_DBT_MIN_DATE / FINOPS_DBT_MAX_DATE), not as --vars: dbt parses the whole project again
    whenever --vars change (3-4 s a run here). The environment is read at execution only (see
    window_setting), so a new window re-parses nothing. --vars {min_date, max_date} still win (by
    hand, unit tests; null = no window). Without either (a plain `dbt build`) every day is
    processed. -#}
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

{#- A run setting: the var when one is given (even null), else the environment variable, read
    only when dbt executes: an env_var read while parsing makes dbt re-parse every model that
    uses it whenever its value changes (the 11 windowed files, about 1 s of each invocation, as
    the window differs between the daily step and the marts step). Parsing sees no window, which
    changes nothing it records (refs, sources, configs). -#}
{% macro window_setting(var_name, env_name) -%}
  {%- set value = var(var_name, '__from_env__') -%}
  {%- if value != '__from_env__' -%}
    {{- return(value) -}}
  {%- endif -%}
  {{- return(env_var(env_name, '') if execute else '') -}}
{%- endmacro %}

{#- Pre-hook of every incremental model: the window's days are deleted before they are inserted
    again. delete+insert alone deletes only the days its new rows hold, so a day that a
    re-delivered billing period no longer holds (or one left with only other-currency lines)
    kept its old rows and its old cost. Spark's insert_overwrite has the same blind spot (it
    overwrites the partitions its new rows hold), so there the window's partitions are dropped
    first; a build without a window empties the table. -#}
{% macro clear_window(column='usage_date') -%}
  {%- if is_incremental() -%}
    {{ adapter.dispatch('clear_window', 'finops')(column) }}
  {%- endif -%}
{%- endmacro %}

{% macro default__clear_window(column) -%}
  delete from {{ this }} where {{ partition_window(column) }}
{%- endmacro %}

{% macro spark__clear_window(column) -%}
  {%- set min_date = window_setting('min_date', 'FINOPS_DBT_MIN_DATE') -%}
  {%- set max_date = window_setting('max_date', 'FINOPS_DBT_MAX_DATE') -%}
  {%- if min_date -%}
    {%- set first = modules.datetime.date.fromisoformat(min_date) -%}
    {%- set days = (modules.datetime.date.fromisoformat(max_date) - first).days -%}
    alter table {{ this }} drop if exists
    {%- for i in range(days) %} partition ({{ column }} = date'{{ first + modules.datetime.timedelta(days=i) }}'){{ ',' if not loop.last }}{% endfor %}
  {%- else -%}
    truncate table {{ this }}
  {%- endif -%}
{%- endmacro %}

{#- The configuration every day-partitioned model shares: incremental on usage_date, the window's
    days cleared and inserted again (clear_window first), and a changed schema is an error, not a
    silent drop. DuckDB: the window's rows appended once clear_window has deleted its days (dbt's
    delete+insert deleted them a second time, joining the table's days to the new rows': 0.05-0.1 s
    a model in a one-day refresh, more over a re-delivered month). Spark: a Parquet table
    partitioned by usage_date whose window's partitions are overwritten (insert_overwrite).
    `{{ day_partitioned() }}` at the top of a model. -#}
{% macro day_partitioned() -%}
  {%- if target.type == 'spark' -%}
    {{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['usage_date'],
              file_format='parquet', on_schema_change='fail', pre_hook="{{ clear_window() }}") }}
  {%- else -%}
    {{ config(materialized='incremental', incremental_strategy='append',
              on_schema_change='fail', pre_hook="{{ clear_window() }}") }}
  {%- endif -%}
{%- endmacro %}

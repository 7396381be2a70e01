{#- Statistics and calendar parts dbt has no cross-database macro for; dispatched per engine so
    the project moves to Spark / Trino / Athena by changing the profile. -#}
{% macro percentile(expression, fraction) -%}
  {{ return(adapter.dispatch('percentile', 'finops')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__percentile(expression, fraction) -%}
  percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro trino__percentile(expression, fraction) -%}
  approx_percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro athena__percentile(expression, fraction) -%}
  approx_percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- ISO day of week, 1 = Monday .. 7 = Sunday. -#}
{% macro iso_weekday(expression) -%}
  {{ return(adapter.dispatch('iso_weekday', 'finops')(expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(expression) -%}
  cast(extract(isodow from {{ expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_weekday(expression) -%}
  (pmod(dayofweek({{ expression }}) + 5, 7) + 1)
{%- endmacro %}

{% macro trino__iso_weekday(expression) -%}
  day_of_week({{ expression }})
{%- endmacro %}

{% macro athena__iso_weekday(expression) -%}
  day_of_week({{ expression }})
{%- endmacro %}

{#- Hours in an average month, the unit AWS prices monthly figures in (8760 / 12). -#}
{% macro hours_per_month() -%}730{%- endmacro %}

{#- Mean and sample standard deviation that are the same on every run: floating-point sums
    depend on the order parallel threads add in, so values are summed as exact decimals
    (6 places) and only the final division is floating point. A re-run must not change a mart. -#}
{% macro stable_avg(expression) -%}
  (cast(sum(cast({{ expression }} as decimal(38, 6))) as double) / nullif(count({{ expression }}), 0))
{%- endmacro %}

{% macro stable_stddev(expression) -%}
  {%- set x = "cast(" ~ expression ~ " as decimal(38, 6))" -%}
  sqrt(greatest(0, (cast(sum({{ x }} * {{ x }}) as double)
                    - cast(sum({{ x }}) as double) * cast(sum({{ x }}) as double) / count({{ x }}))
                   / nullif(count({{ x }}) - 1, 0)))
{%- endmacro %}

{#- A percentile over a window frame (e.g. the median of the same weekday's previous weeks). -#}
{% macro window_percentile(expression, fraction, window) -%}
  {{ return(adapter.dispatch('window_percentile', 'finops')(expression, fraction, window)) }}
{%- endmacro %}

{% macro default__window_percentile(expression, fraction, window) -%}
  quantile_cont({{ expression }}, {{ fraction }}) over ({{ window }})
{%- endmacro %}

{% macro spark__window_percentile(expression, fraction, window) -%}
  percentile({{ expression }}, {{ fraction }}) over ({{ window }})
{%- endmacro %}

{% macro trino__window_percentile(expression, fraction, window) -%}
  approx_percentile({{ expression }}, {{ fraction }}) over ({{ window }})
{%- endmacro %}

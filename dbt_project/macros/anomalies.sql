{#- The anomaly rule of fct_cost_anomalies, applied twice there (a first pass finds the days to
    leave out of the baseline, the second decides): |change| over the robust spread (IQR / 1.349,
    floored) beyond the warning z, and an impact over both the absolute and the relative minimum. -#}
{% macro is_anomalous(change, centre, q1, q3, points) -%}
    ({{ points }} >= {{ var('anomaly_min_baseline_points') }}
     and abs({{ change }}) >= {{ var('anomaly_min_impact_usd') }}
     and abs({{ change }}) >= abs({{ centre }}) * {{ var('anomaly_min_impact_pct') }} / 100.0
     and abs({{ robust_z(change, centre, q1, q3) }}) > {{ var('anomaly_warning_z') }})
{%- endmacro %}

{#- change over the robust spread of the baseline: the IQR of a normal sample is 1.349 standard
    deviations, floored at var anomaly_min_stddev_pct of the centre and at $1. -#}
{% macro robust_z(change, centre, q1, q3) -%}
    ({{ change }}) / greatest(({{ q3 }} - {{ q1 }}) / 1.349,
                              abs({{ centre }}) * {{ var('anomaly_min_stddev_pct') }} / 100.0, 1.0)
{%- endmacro %}

{#- CUR delivers costs as doubles; they are cast to this exact type once, in staging. -#}
{% macro money(expression) -%}
  cast(coalesce({{ expression }}, 0) as {{ money_type() }})
{%- endmacro %}

{% macro money_type() -%}
  decimal(38, 10)
{%- endmacro %}

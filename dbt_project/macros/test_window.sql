{#- Generic tests (not_null, unique, accepted_values, relationships) of a day-partitioned model
    check the window's days only, as its singular tests do: the other days did not change since
    the build that tested them. Over the whole table a one-day refresh tested every day of the
    history again (unique on fct_daily_cost's cost_key: 0.26 s at one month of 20M line items a
    month, twelve times that at a year). Every key these tests hold unique (cost_key and the other
    *_key columns) includes the day, so a duplicate can only be within one day. dbt calls this
    macro (dispatched in the dbt namespace, where the root project comes first) when it renders a
    test, at execution: the window is read then, like every other windowed query
    (partition_window). -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if execute and finops_tests_day_partitioned_model() -%}
        {%- do conditions.append(partition_window('usage_date')) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether the test being rendered is attached to an incremental (day-partitioned) model. -#}
{% macro finops_tests_day_partitioned_model() -%}
    {%- set attached = model.get('attached_node') -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- do return(node is not none and node.config.materialized == 'incremental') -%}
{%- endmacro %}

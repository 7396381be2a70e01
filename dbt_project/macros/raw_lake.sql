{#- The raw lake as relations the models can read. DuckDB reads the Parquet files where they
    lie (each source's external_location). On Spark each source becomes a view in the schema
    finops_raw over its lake folder's files, recreated at the start of every dbt invocation so
    it follows the lake wherever FINOPS_RAW_LAKE_DIR points (a moved data folder, an s3a://
    URL), merging the files' columns (a CUR column that comes and goes). The day files hold
    usage_date themselves, so the view globs <folder>/*/*.parquet (one file per day folder, and
    the empty schema file in _schema/ an optional source keeps until its first day: Spark's
    partition discovery would skip that hidden folder and find nothing to read). A metastore
    table would need MSCK REPAIR after every ingest, and Spark will not infer partitions for a
    table whose files also hold the partition column. -#}
{% macro register_raw_lake() -%}
  {{ return(adapter.dispatch('register_raw_lake', 'finops')()) }}
{%- endmacro %}

{% macro default__register_raw_lake() -%}
  select 1
{%- endmacro %}

{#- DuckDB over a raw lake on S3 (FINOPS_RAW_LAKE_URL; lake/object_store.py). A day's file there
    is an immutable object and a pointer names the current one, so a folder listing would show a
    replaced day twice while its old object waits for vacuum. Each source becomes a view in
    finops_raw over exactly the objects its pointers name when this invocation starts (plus the
    empty schema file an optional source keeps, and the restatement diffs, which are never
    replaced): every model of the invocation reads the same snapshot of the lake, each day old
    or new, never half. -#}
{% macro duckdb__register_raw_lake() -%}
  {%- set lake = env_var('FINOPS_RAW_LAKE_URL', '') -%}
  {%- if execute and lake -%}
    {%- do run_query('create schema if not exists finops_raw') -%}
    {%- for source in graph.sources.values() if source.meta.get('lake_folder') -%}
      {%- set folder = lake ~ '/' ~ source.meta['lake_folder'] -%}
      {%- set layout = source.meta.get('lake_layout', 'daily') -%}
      {%- set files = [] -%}
      {%- if layout == 'periods' -%}
        {%- set listed = run_query("select file from glob('" ~ folder ~ "/*/*.parquet') order by file") -%}
        {%- do files.extend(listed.columns[0].values()) -%}
      {%- else -%}
        {%- set pointers = folder ~ ('/_current.json' if layout == 'single' else '/_current/*.json') -%}
        {%- if run_query("select count(*) from glob('" ~ pointers ~ "')").columns[0].values()[0] > 0 -%}
          {%- set named = run_query("select object from read_json('" ~ pointers ~ "', columns = {object: 'varchar', published_at: 'varchar'}) order by object") -%}
          {%- do files.extend(named.columns[0].values()) -%}
        {%- endif -%}
        {%- if layout != 'single' -%}
          {%- set schema_files = run_query("select file from glob('" ~ folder ~ "/_schema/*.parquet')") -%}
          {%- do files.extend(schema_files.columns[0].values()) -%}
        {%- endif -%}
      {%- endif -%}
      {%- if files -%}
        {%- do run_query('create or replace view finops_raw.' ~ source.name ~ ' as select * from read_parquet(['
                         ~ ("'" ~ files | join("', '") ~ "'") ~ '], union_by_name = true, hive_partitioning = false)') -%}
      {%- else -%}
        {%- do exceptions.warn('raw lake ' ~ folder ~ ': no objects yet, so finops_raw.' ~ source.name ~ ' is not defined') -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{%- endmacro %}

{% macro spark__register_raw_lake() -%}
  {%- if execute -%}
    {%- set lake = env_var('FINOPS_RAW_LAKE_DIR', '../data/raw') -%}
    {%- do run_query('create database if not exists finops_raw') -%}
    {%- for source in graph.sources.values() if source.meta.get('lake_folder') -%}
      {%- set files = '*.parquet' if source.meta.get('lake_layout') == 'single' else '*/*.parquet' -%}
      {%- do run_query('create or replace view finops_raw.' ~ source.name ~ ' as select * from parquet.`'
                       ~ lake ~ '/' ~ source.meta['lake_folder'] ~ '/' ~ files ~ '`') -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session method hands the values to Python's % formatting, so an
    empty CSV cell arrives as the string 'None' and an apostrophe breaks the statement. The rows
    are written as SQL literals instead (NULL for an empty cell, quotes escaped). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {%- for row in chunk %}
        ({%- for value in row -%}
          {%- set col_name = agate_table.column_names[loop.index0] -%}
          {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
          {%- if value is none -%} cast(null as {{ type }})
          {%- else -%} cast('{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}' as {{ type }})
          {%- endif -%}{{ ',' if not loop.last }}
        {%- endfor -%}){{ ',' if not loop.last }}
      {%- endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(statements[0]) }}
{% endmacro %}

-- One row per metric datapoint and statistic; resource_id is the metric's identifying dimension
-- value (the EC2 InstanceId for AWS/EC2, matching CUR's resource id); account_id is the linked
-- account whose CloudWatch holds it (null when read with the default credentials' account).
select
    cast(usage_date as date)        as usage_date,
    nullif(account_id, 'default')   as account_id,
    namespace,
    metric_name,
    resource_id,
    dimensions,
    stat,
    {{ adapter.quote("timestamp") }}  as metric_timestamp,
    cast(value as double)           as metric_value,
    period_seconds
from {{ source('raw_cloudwatch', 'metrics') }}

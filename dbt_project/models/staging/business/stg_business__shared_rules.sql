select
    service_tag,
    split_by
from {{ source('raw_business', 'shared_rules') }}

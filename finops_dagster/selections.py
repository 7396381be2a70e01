"""Asset tags that jobs in one domain use to select assets of another (issue 18: selections across
domains by tag, not by asset-key strings): each raw asset says what kind of source it is, in its
own domain folder, and a cross-domain job asks for the kind."""

import dagster as dg

RAW = "finops/raw"
CUR = "cur"  # the CUR day files and the restatement diffs of a delivery
DAILY = "daily"  # an enrichment read per usage day (Cost Explorer, CloudWatch, business requests)
REFERENCE = "reference"  # an unpartitioned source table, replaced whole
# a source whose days change when AWS restates a CUR billing period (re-read with those days)
FOLLOWS_CUR = "finops/follows_cur"
# a dbt view: it reads the lake when queried, so new data needs no rebuild (only new SQL does)
VIEW = "finops/view"


def raw_tags(kind: str, follows_cur: bool = False) -> dict[str, str]:
    return {RAW: kind, **({FOLLOWS_CUR: "true"} if follows_cur else {})}


def raw_assets(*kinds: str) -> dg.AssetSelection:
    selection = dg.AssetSelection.tag(RAW, kinds[0])
    for kind in kinds[1:]:
        selection = selection | dg.AssetSelection.tag(RAW, kind)
    return selection


def follows_cur() -> dg.AssetSelection:
    return dg.AssetSelection.tag(FOLLOWS_CUR, "true")


def views() -> dg.AssetSelection:
    return dg.AssetSelection.tag(VIEW, "true")

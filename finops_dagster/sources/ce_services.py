"""Cost Explorer's SERVICE names for CUR line items, from the same versioned rules the
reconciliation mart reads (`dbt_project/seeds/cost_explorer_services.csv`).

Cost Explorer does not name services as CUR's product names do: EC2 is split into "Amazon
Elastic Compute Cloud - Compute" and "EC2 - Other", tax is one service "Tax", load balancing is
"Amazon Elastic Load Balancing". The demo's Cost Explorer endpoint answers with these names so
the demo reconciles what AWS really returns, not CUR's spelling of it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl

RULES = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "cost_explorer_services.csv"


@functools.cache
def rules() -> pl.DataFrame:
    return pl.read_csv(RULES, schema_overrides={"cost_explorer_service": pl.String}).sort("rule_order")


def _like(pattern: str) -> str:
    """A SQL LIKE pattern as an anchored regular expression (only % is used in the rules)."""
    import re

    return "^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$"


def cost_explorer_service(
    product_code: pl.Expr, line_item_type: pl.Expr, usage_type: pl.Expr, product_name: pl.Expr
) -> pl.Expr:
    """The first matching rule's service name, else the product name (the seed's semantics)."""
    expr = product_name
    for rule in reversed(rules().to_dicts()):  # built inside out: the first rule is outermost
        name = rule["cost_explorer_service"]
        then = pl.lit(name) if name else product_name
        cond = usage_type.fill_null("").str.contains(_like(rule["usage_type_like"]))
        if rule["product_code"] != "*":
            cond = cond & (product_code == rule["product_code"])
        if rule["line_item_type"] != "*":
            cond = cond & (line_item_type == rule["line_item_type"])
        expr = pl.when(cond).then(then).otherwise(expr)
    return expr

"""The five catalogs by name, for what spans them (cross-catalog search), and every spec
with a search index (the catalogs and demands), for what rebuilds them."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from app.services import demands, financial_products, ip_assets, policies, talents, technologies
from app.services.catalog import CatalogSpec


class CatalogName(StrEnum):
    talents = "talents"
    technologies = "technologies"
    policies = "policies"
    ip_assets = "ip_assets"
    financial_products = "financial_products"


CATALOGS: dict[CatalogName, CatalogSpec[Any]] = {
    CatalogName.talents: talents.SPEC,
    CatalogName.technologies: technologies.SPEC,
    CatalogName.policies: policies.SPEC,
    CatalogName.ip_assets: ip_assets.SPEC,
    CatalogName.financial_products: financial_products.SPEC,
}


#: Every spec whose table has a full-text index (``innoshare reindex`` rebuilds them all).
INDEXED: tuple[CatalogSpec[Any], ...] = (*CATALOGS.values(), demands.SPEC)


def searchable(names: Sequence[CatalogName] | None) -> list[CatalogSpec[Any]]:
    """The specs of the named catalogs, in a fixed order; all of them when none are named."""
    chosen = set(names or CATALOGS)
    return [spec for name, spec in CATALOGS.items() if name in chosen]

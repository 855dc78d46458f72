"""catalog_generations: one counter per catalog for the response cache

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 03:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOGS = ("talents", "technologies", "policies", "ip_assets", "financial_products")


def upgrade() -> None:
    generations = op.create_table(
        "catalog_generations",
        sa.Column("catalog", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("catalog", name=op.f("pk_catalog_generations")),
    )
    op.bulk_insert(generations, [{"catalog": name, "generation": 0} for name in CATALOGS])


def downgrade() -> None:
    op.drop_table("catalog_generations")

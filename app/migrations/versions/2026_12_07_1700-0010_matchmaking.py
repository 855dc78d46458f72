"""matchmaking: organizations' search text (service providers in the search index, filled
from their name, description and region) and match_impressions (which provider was shown as
a match on which demand, first when)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base
from app.core.search import index_text

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill() -> None:
    """Each organization's search columns, as app/services/orgs.py writes them."""
    organizations = sa.table(
        "organizations",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("region", sa.String()),
        sa.column("search_title", sa.Text()),
        sa.column("search_body", sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            organizations.c.id,
            organizations.c.name,
            organizations.c.description,
            organizations.c.region,
        )
    ).all()
    for row in rows:
        bind.execute(
            organizations.update()
            .where(organizations.c.id == row.id)
            .values(
                search_title=index_text(row.name),
                search_body=index_text(row.description, row.region),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_title", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("search_body", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_organizations_updated_at"), ["updated_at"])
    _backfill()
    op.execute("INSERT INTO catalog_generations (catalog, generation) VALUES ('organizations', 0)")
    op.create_table(
        "match_impressions",
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("first_shown_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_match_impressions_demand_id_demands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_match_impressions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("demand_id", "organization_id", name=op.f("pk_match_impressions")),
    )
    op.create_index("ix_match_impressions_first_shown_at", "match_impressions", ["first_shown_at"])


def downgrade() -> None:
    op.drop_index("ix_match_impressions_first_shown_at", table_name="match_impressions")
    op.drop_table("match_impressions")
    op.execute("DELETE FROM catalog_generations WHERE catalog = 'organizations'")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_updated_at"))
        batch_op.drop_column("search_body")
        batch_op.drop_column("search_title")

"""catalogs: talents, technologies, policies, IP assets, financial products, their history,
and the backend-specific full-text indexes (tsvector + GIN on PostgreSQL, FTS5 on SQLite)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 21:21:15.059090+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CATALOG_TABLES = ("talents", "technologies", "policies", "ip_assets", "financial_products")


def _create_search_indexes() -> None:
    """search_title/search_body hold CJK-bigram tokens written by the app (app/core/search.py)."""
    dialect = op.get_bind().dialect.name
    for table in CATALOG_TABLES:
        if dialect == "postgresql":
            # title_vector ranks (title matches first); search_vector matches anywhere.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN title_vector tsvector GENERATED ALWAYS AS ("
                " to_tsvector('simple', search_title)) STORED"
            )
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
                " to_tsvector('simple', search_title || ' ' || search_body)) STORED"
            )
            op.execute(f"CREATE INDEX ix_{table}_title_vector ON {table} USING gin (title_vector)")
            op.execute(
                f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)"
            )
            # Keep rows (vectors included) in line up to a page: a TOASTed vector costs an
            # index lookup each time a scan filters on it (3-4x slower searches measured).
            op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 8160)")
            continue
        # External-content FTS5 keyed by the table's rowid, kept in step by triggers. VACUUM
        # may renumber rowids of tables without an INTEGER PRIMARY KEY: run
        # `innoshare reindex` after a VACUUM.
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_title, search_body,"
            f" content='{table}', content_rowid='rowid')"
        )
        insert = (
            f"INSERT INTO {fts}(rowid, search_title, search_body)"
            " VALUES (new.rowid, new.search_title, new.search_body);"
        )
        delete = (
            f"INSERT INTO {fts}({fts}, rowid, search_title, search_body)"
            " VALUES ('delete', old.rowid, old.search_title, old.search_body);"
        )
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_title, search_body ON {table}"
            f" BEGIN {delete} {insert} END"
        )


def _drop_search_indexes() -> None:
    dialect = op.get_bind().dialect.name
    for table in CATALOG_TABLES:
        if dialect == "postgresql":
            op.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")
            for column in ("search_vector", "title_vector"):
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}")
                op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}")
            continue
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")


def upgrade() -> None:
    op.create_table(
        "catalog_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("catalog", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "create",
                "update",
                "publish",
                "withdraw",
                name="history_action",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_history")),
    )
    with op.batch_alter_table("catalog_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_history_item", ["catalog", "item_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "financial_products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "withdrawn",
                name="catalog_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "loan",
                "sci_tech_credit",
                "equity",
                "guarantee",
                "insurance",
                name="financial_product_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount_min", sa.BigInteger(), nullable=True),
        sa.Column("amount_max", sa.BigInteger(), nullable=True),
        sa.Column("rate_min_bp", sa.Integer(), nullable=True),
        sa.Column("rate_max_bp", sa.Integer(), nullable=True),
        sa.Column("term_min_months", sa.Integer(), nullable=True),
        sa.Column("term_max_months", sa.Integer(), nullable=True),
        sa.Column("eligibility", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max",
            name=op.f("ck_financial_products_amount_order"),
        ),
        sa.CheckConstraint(
            "rate_min_bp IS NULL OR rate_max_bp IS NULL OR rate_min_bp <= rate_max_bp",
            name=op.f("ck_financial_products_rate_order"),
        ),
        sa.CheckConstraint(
            "term_min_months IS NULL OR term_max_months IS NULL"
            " OR term_min_months <= term_max_months",
            name=op.f("ck_financial_products_term_order"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_financial_products_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_products")),
        sa.UniqueConstraint(
            "owner_id", "external_id", name="uq_financial_products_owner_id_external_id"
        ),
    )
    with op.batch_alter_table("financial_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_financial_products_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_financial_products_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            "ix_financial_products_status_created_at", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "ip_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "withdrawn",
                name="catalog_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "invention_patent",
                "utility_model",
                "design_patent",
                "trademark",
                "copyright",
                "software_copyright",
                name="ip_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column(
            "legal_status",
            sa.Enum(
                "pending",
                "granted",
                "registered",
                "expired",
                "invalidated",
                name="legal_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("application_date", sa.Date(), nullable=True),
        sa.Column("grant_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("available_for_transfer", sa.Boolean(), nullable=False),
        sa.Column("available_for_license", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "grant_date IS NULL OR application_date IS NULL OR grant_date >= application_date",
            name=op.f("ck_ip_assets_grant_after_application"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_ip_assets_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_assets")),
        sa.UniqueConstraint("owner_id", "external_id", name="uq_ip_assets_owner_id_external_id"),
        sa.UniqueConstraint("owner_id", "kind", "number", name="uq_ip_assets_owner_id_kind_number"),
    )
    with op.batch_alter_table("ip_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ip_assets_field"), ["field"], unique=False)
        batch_op.create_index(batch_op.f("ix_ip_assets_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ip_assets_legal_status"), ["legal_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ip_assets_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_ip_assets_status_created_at", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "withdrawn",
                name="catalog_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("issuing_authority", sa.String(length=200), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "national",
                "provincial",
                "municipal",
                "district",
                name="policy_level",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("full_text", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "effective_date IS NULL OR effective_date >= issue_date",
            name=op.f("ck_policies_effective_after_issue"),
        ),
        sa.CheckConstraint(
            "expiry_date IS NULL OR expiry_date >= COALESCE(effective_date, issue_date)",
            name=op.f("ck_policies_expiry_after_effective"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_policies_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("owner_id", "external_id", name="uq_policies_owner_id_external_id"),
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policies_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_policies_issue_date"), ["issue_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_policies_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_policies_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_policies_status_created_at", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "talents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "withdrawn",
                name="catalog_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("affiliation", sa.String(length=200), nullable=True),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("research_fields", sa.JSON(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=50), nullable=True),
        sa.Column("expertise", sa.Text(), nullable=True),
        sa.Column("achievements", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_talents_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talents")),
        sa.UniqueConstraint("owner_id", "external_id", name="uq_talents_owner_id_external_id"),
    )
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talents_field"), ["field"], unique=False)
        batch_op.create_index(batch_op.f("ix_talents_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_talents_status_created_at", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "technologies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "withdrawn",
                name="catalog_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("trl", sa.SmallInteger(), nullable=False),
        sa.Column("transfer_modes", sa.JSON(), nullable=False),
        sa.Column("price_min", sa.BigInteger(), nullable=True),
        sa.Column("price_max", sa.BigInteger(), nullable=True),
        sa.Column("inventor_ids", sa.JSON(), nullable=False),
        sa.Column("ip_asset_ids", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "price_min IS NULL OR price_max IS NULL OR price_min <= price_max",
            name=op.f("ck_technologies_price_order"),
        ),
        sa.CheckConstraint(
            "price_min IS NULL OR price_min >= 0", name=op.f("ck_technologies_price_min_positive")
        ),
        sa.CheckConstraint("trl BETWEEN 1 AND 9", name=op.f("ck_technologies_trl_range")),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_technologies_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technologies")),
        sa.UniqueConstraint("owner_id", "external_id", name="uq_technologies_owner_id_external_id"),
    )
    with op.batch_alter_table("technologies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_technologies_field"), ["field"], unique=False)
        batch_op.create_index(batch_op.f("ix_technologies_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_technologies_status_created_at", ["status", "created_at", "id"], unique=False
        )

    _create_search_indexes()


def downgrade() -> None:
    _drop_search_indexes()
    with op.batch_alter_table("technologies", schema=None) as batch_op:
        batch_op.drop_index("ix_technologies_status_created_at")
        batch_op.drop_index(batch_op.f("ix_technologies_owner_id"))
        batch_op.drop_index(batch_op.f("ix_technologies_field"))

    op.drop_table("technologies")
    with op.batch_alter_table("talents", schema=None) as batch_op:
        batch_op.drop_index("ix_talents_status_created_at")
        batch_op.drop_index(batch_op.f("ix_talents_owner_id"))
        batch_op.drop_index(batch_op.f("ix_talents_field"))

    op.drop_table("talents")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index("ix_policies_status_created_at")
        batch_op.drop_index(batch_op.f("ix_policies_owner_id"))
        batch_op.drop_index(batch_op.f("ix_policies_level"))
        batch_op.drop_index(batch_op.f("ix_policies_issue_date"))
        batch_op.drop_index(batch_op.f("ix_policies_category"))

    op.drop_table("policies")
    with op.batch_alter_table("ip_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_ip_assets_status_created_at")
        batch_op.drop_index(batch_op.f("ix_ip_assets_owner_id"))
        batch_op.drop_index(batch_op.f("ix_ip_assets_legal_status"))
        batch_op.drop_index(batch_op.f("ix_ip_assets_kind"))
        batch_op.drop_index(batch_op.f("ix_ip_assets_field"))

    op.drop_table("ip_assets")
    with op.batch_alter_table("financial_products", schema=None) as batch_op:
        batch_op.drop_index("ix_financial_products_status_created_at")
        batch_op.drop_index(batch_op.f("ix_financial_products_owner_id"))
        batch_op.drop_index(batch_op.f("ix_financial_products_kind"))

    op.drop_table("financial_products")
    with op.batch_alter_table("catalog_history", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_history_item")

    op.drop_table("catalog_history")

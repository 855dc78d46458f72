"""demands, proposals, questions and invitations; deals opened by an award; the new history
actions; the demands' full-text index (tsvector + GIN on PostgreSQL, FTS5 on SQLite)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:47:46.424720+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_ACTIONS = (
    "create",
    "update",
    "publish",
    "withdraw",
    "cancel",
    "extend",
    "close_unsuccessful",
    "award",
    "hide",
    "unhide",
)


def _history_actions(actions: Sequence[str], length: int) -> None:
    """catalog_history.action as VARCHAR(length) checked against ``actions``."""
    allowed = ", ".join(f"'{action}'" for action in actions)
    with op.batch_alter_table("catalog_history", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_catalog_history_history_action"), type_="check")
        batch_op.alter_column("action", type_=sa.String(length=length), existing_nullable=False)
        batch_op.create_check_constraint("history_action", f"action IN ({allowed})")


def _create_search_index() -> None:
    """The demands' search text, indexed as the catalogs' is (migration 0002)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE demands ADD COLUMN title_vector tsvector GENERATED ALWAYS AS ("
            " to_tsvector('simple', search_title)) STORED"
        )
        op.execute(
            "ALTER TABLE demands ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            " to_tsvector('simple', search_title || ' ' || search_body)) STORED"
        )
        op.execute("CREATE INDEX ix_demands_title_vector ON demands USING gin (title_vector)")
        op.execute("CREATE INDEX ix_demands_search_vector ON demands USING gin (search_vector)")
        op.execute("ALTER TABLE demands SET (toast_tuple_target = 8160)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE demands_fts USING fts5(search_title, search_body,"
        " content='demands', content_rowid='rowid')"
    )
    insert = (
        "INSERT INTO demands_fts(rowid, search_title, search_body)"
        " VALUES (new.rowid, new.search_title, new.search_body);"
    )
    delete = (
        "INSERT INTO demands_fts(demands_fts, rowid, search_title, search_body)"
        " VALUES ('delete', old.rowid, old.search_title, old.search_body);"
    )
    op.execute(f"CREATE TRIGGER demands_fts_insert AFTER INSERT ON demands BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER demands_fts_delete AFTER DELETE ON demands BEGIN {delete} END")
    op.execute(
        "CREATE TRIGGER demands_fts_update AFTER UPDATE OF search_title, search_body ON demands"
        f" BEGIN {delete} {insert} END"
    )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return  # the vectors and their indexes go with the table
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS demands_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS demands_fts")


def upgrade() -> None:
    op.create_table(
        "demands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                "awarded",
                "unsuccessful",
                "cancelled",
                name="demand_status",
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
                "technology",
                "financing",
                "talent",
                "service",
                "challenge",
                name="demand_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("budget_min", sa.BigInteger(), nullable=True),
        sa.Column("budget_max", sa.BigInteger(), nullable=True),
        sa.Column("budget_visible", sa.Boolean(), nullable=False),
        sa.Column("deadline", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reward", sa.BigInteger(), nullable=True),
        sa.Column("invited_only", sa.Boolean(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("cancelled_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("requirements", sa.Text(), nullable=True),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.CheckConstraint("status <> 'closed'", name=op.f("ck_demands_closed_is_derived")),
        sa.CheckConstraint(
            "budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max",
            name=op.f("ck_demands_budget_order"),
        ),
        sa.CheckConstraint(
            "budget_min IS NULL OR budget_min >= 0", name=op.f("ck_demands_budget_min_positive")
        ),
        sa.CheckConstraint(
            "reward IS NULL OR reward >= 0", name=op.f("ck_demands_reward_positive")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organizations.id"],
            name=op.f("fk_demands_owner_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demands")),
        sa.UniqueConstraint("owner_id", "external_id", name="uq_demands_owner_id_external_id"),
    )
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.create_index("ix_demands_deadline", ["deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_demands_field"), ["field"], unique=False)
        batch_op.create_index(batch_op.f("ix_demands_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_demands_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_demands_status_created_at", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "demand_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_demand_invitations_demand_id_demands"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_demand_invitations_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_invitations")),
        sa.UniqueConstraint(
            "demand_id",
            "organization_id",
            name=op.f("uq_demand_invitations_demand_id_organization_id"),
        ),
    )
    with op.batch_alter_table("demand_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demand_invitations_organization",
            ["organization_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "demand_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("asker_organization_id", sa.Uuid(), nullable=False),
        sa.Column("asked_by", sa.String(length=80), nullable=False),
        sa.Column("answered_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("hidden_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asker_organization_id"],
            ["organizations.id"],
            name=op.f("fk_demand_questions_asker_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_demand_questions_demand_id_demands"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_questions")),
    )
    with op.batch_alter_table("demand_questions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demand_questions_demand", ["demand_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "proposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "awarded",
                "unsuccessful",
                "withdrawn",
                name="proposal_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("timeline_days", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=True),
        sa.CheckConstraint("price > 0", name=op.f("ck_proposals_price_positive")),
        sa.CheckConstraint("timeline_days > 0", name=op.f("ck_proposals_timeline_positive")),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_proposals_deal_id_deals"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_proposals_demand_id_demands"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_proposals_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proposals_demand", ["demand_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_proposals_organization", ["organization_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "uq_proposals_live",
            ["demand_id", "organization_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('submitted', 'awarded')"),
            postgresql_where=sa.text("status IN ('submitted', 'awarded')"),
        )

    op.create_table(
        "proposal_revisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_revisions_proposal_id_proposals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_revisions")),
        sa.UniqueConstraint(
            "proposal_id", "revision", name=op.f("uq_proposal_revisions_proposal_id_revision")
        ),
    )
    _history_actions(HISTORY_ACTIONS, 32)
    _create_search_index()

    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("demand_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_deals_demand_id"), ["demand_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_deals_demand_id_demands"),
            "demands",
            ["demand_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    # What refers to demands and proposals goes first: on SQLite, the batch copy of deals
    # would otherwise fail proposals' foreign key to it.
    op.drop_table("proposal_revisions")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_proposals_live",
            sqlite_where=sa.text("status IN ('submitted', 'awarded')"),
            postgresql_where=sa.text("status IN ('submitted', 'awarded')"),
        )
        batch_op.drop_index("ix_proposals_organization")
        batch_op.drop_index("ix_proposals_demand")

    op.drop_table("proposals")
    with op.batch_alter_table("demand_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_questions_demand")

    op.drop_table("demand_questions")
    with op.batch_alter_table("demand_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_invitations_organization")

    op.drop_table("demand_invitations")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deals_demand_id_demands"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_deals_demand_id"), type_="unique")
        batch_op.drop_column("demand_id")

    op.execute("DELETE FROM catalog_history WHERE catalog = 'demands'")
    _history_actions(HISTORY_ACTIONS[:4], 16)
    _drop_search_index()
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_index("ix_demands_status_created_at")
        batch_op.drop_index(batch_op.f("ix_demands_owner_id"))
        batch_op.drop_index(batch_op.f("ix_demands_kind"))
        batch_op.drop_index(batch_op.f("ix_demands_field"))
        batch_op.drop_index("ix_demands_deadline")

    op.drop_table("demands")

"""What every catalog item shares (workflow, ownership, partner key, search text) and the
history of changes to all of them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.models.base import Base, Entity

#: sort_order of long text columns: after every short one (see app/core/db.py Entity).
LONG_TEXT = 100


class CatalogStatus(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


def str_enum(enum: type[StrEnum], name: str, length: int = 32) -> Enum:
    """A portable enum column: VARCHAR with a CHECK constraint, values as stored strings."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class CatalogItem(Entity):
    """Base of the five catalogs. Items are never deleted: withdrawn is the end of the road."""

    __abstract__ = True

    @declared_attr
    def owner_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            ForeignKey("organizations.id", ondelete="RESTRICT"), index=True, sort_order=-10
        )

    status: Mapped[CatalogStatus] = mapped_column(
        str_enum(CatalogStatus, "catalog_status", 16), default=CatalogStatus.draft, sort_order=-10
    )
    external_id: Mapped[str | None] = mapped_column(String(100), sort_order=-10)
    """The owner's own key for the item (partner imports upsert by it); unique per owner."""
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, sort_order=-10)
    version: Mapped[int] = mapped_column(default=1, sort_order=-10)
    """Incremented by every change; the ETag, and the optimistic lock of updates."""
    published_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    withdrawn_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    search_title: Mapped[str] = mapped_column(
        Text, default="", sort_order=LONG_TEXT + 1, deferred=True, deferred_raiseload=True
    )
    """CJK-bigram tokens of the title (see app/core/search.py), weighted above the body."""
    search_body: Mapped[str] = mapped_column(
        Text, default="", sort_order=LONG_TEXT + 1, deferred=True, deferred_raiseload=True
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


def catalog_table_args(table: str, *extra: Any) -> tuple[Any, ...]:
    """Constraints and indexes every catalog table has, plus its own."""
    return (
        UniqueConstraint("owner_id", "external_id", name=f"uq_{table}_owner_id_external_id"),
        # Published items newest first: the default listing and the recency order of search.
        Index(f"ix_{table}_status_created_at", "status", "created_at", "id"),
        # The rows changed since a moment: what each process's search index reads to keep in
        # step (app/core/search_index.py).
        Index(f"ix_{table}_updated_at", "updated_at"),
        *extra,
    )


class HistoryAction(StrEnum):
    create = "create"
    update = "update"
    publish = "publish"
    withdraw = "withdraw"
    # demands (app/services/demands.py)
    cancel = "cancel"
    extend = "extend"
    close_unsuccessful = "close_unsuccessful"
    award = "award"
    hide = "hide"
    unhide = "unhide"


class CatalogHistory(Entity):
    """Who changed what and when: every create, update and change of status (a demand's
    moderation included)."""

    __tablename__ = "catalog_history"
    __table_args__ = (Index("ix_catalog_history_item", "catalog", "item_id", "created_at", "id"),)

    catalog: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[uuid.UUID]
    action: Mapped[HistoryAction] = mapped_column(str_enum(HistoryAction, "history_action", 32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    """user, api_key or system (the demo seed)."""
    actor_id: Mapped[uuid.UUID | None]
    source: Mapped[str] = mapped_column(String(16), default="api")
    """api, import or seed."""
    version: Mapped[int]
    """The item's version after the change."""
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Field → [old, new] for the fields that changed (all fields on create)."""


class CatalogGeneration(Base):
    """A counter per catalog, raised after every committed change to its items: the version of
    the catalog that cached list answers are checked against (app/core/response_cache.py)."""

    __tablename__ = "catalog_generations"

    catalog: Mapped[str] = mapped_column(String(40), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)

"""The model base: naming convention, UTC timestamps and the UUID-keyed entity."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, Uuid

from app.core.calendar import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as
    naive UTC text of fixed width (which also sorts correctly) and made aware again on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _same_as_created(context: Any) -> datetime:
    created: datetime | None = context.get_current_parameters().get("created_at")
    return created if created is not None else utcnow()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(as_uuid=True)}


class Entity(Base):
    """A table with an opaque UUID id and creation/update timestamps."""

    __abstract__ = True

    # Columns are ordered small and often-read first, long text last (sort_order): SQLite
    # reads a row's record from its start and spills long records to overflow pages, so a
    # filter or sort on a column past the long text would walk the overflow chain.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=-20)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=-20)
    updated_at: Mapped[datetime] = mapped_column(
        default=_same_as_created, onupdate=utcnow, sort_order=-20
    )

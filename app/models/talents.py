"""Talents: experts and researchers of the zone's universities, institutes and enterprises."""

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args


class Talent(CatalogItem):
    __tablename__ = "talents"
    __table_args__ = catalog_table_args("talents")

    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    """Professional title (职称), e.g. 教授, 研究员, 高级工程师."""
    affiliation: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(50), index=True)
    """Main field, one of the zone's industries; faceted."""
    research_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    expertise: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    achievements: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    """Shown to signed-in callers only."""
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    """Shown to signed-in callers only."""

"""Organizations: universities, institutes, enterprises, financial institutions and others."""

from enum import StrEnum

from sqlalchemy import Enum, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Entity


class OrganizationKind(StrEnum):
    university = "university"
    research_institute = "research_institute"
    rnd_institution = "rnd_institution"
    enterprise = "enterprise"
    financial_institution = "financial_institution"
    service_provider = "service_provider"
    government = "government"


class Organization(Entity):
    __tablename__ = "organizations"
    # The search index reads the rows changed since its watermark (service providers).
    __table_args__ = (Index("ix_organizations_updated_at", "updated_at"),)

    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[OrganizationKind] = mapped_column(
        Enum(
            OrganizationKind,
            name="organization_kind",
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda kinds: [k.value for k in kinds],
        ),
        index=True,
    )
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    """Unified social credit code (统一社会信用代码), GB 32100-2015, check digit verified."""
    region: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    search_title: Mapped[str] = mapped_column(
        Text, default="", server_default=text("''"), deferred=True, deferred_raiseload=True
    )
    """CJK-bigram tokens of the name (app/core/search.py): the search index's title, for
    matching service demands with service providers (app/services/matching.py)."""
    search_body: Mapped[str] = mapped_column(
        Text, default="", server_default=text("''"), deferred=True, deferred_raiseload=True
    )
    """Tokens of the description and the region."""

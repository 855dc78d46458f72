"""Stored first responses of requests sent with an ``Idempotency-Key`` header."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.calendar import utcnow
from app.models.base import Base


class IdempotencyRecord(Base):
    """The first response to a money-moving request, kept per principal and key, written in
    the same transaction as the request's effect."""

    __tablename__ = "idempotency_records"

    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

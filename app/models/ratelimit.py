"""Fixed-window event counters shared by every process through the database."""

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class RateLimitBucket(Base):
    """How many events one key (an account, a client address, an API key) had in one window."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Unix seconds at which the window began (a multiple of the window length)."""
    count: Mapped[int] = mapped_column(Integer, default=0)

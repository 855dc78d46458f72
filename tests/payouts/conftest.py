"""Payouts are tested on the deals' market: the same cast (tests/deals/conftest.py)."""

from tests.deals.conftest import market

__all__ = ["market"]

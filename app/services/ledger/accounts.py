"""Ledger accounts: the platform's own, each organization's payable account, and balances,
now (the kept shards) or as of a past time (the postings up to it)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.errors import NotFound
from app.models.ledger import AccountKind, JournalEntry, LedgerAccount, LedgerBalance, Posting


def platform_account_id(code: str) -> uuid.UUID:
    """Ids of the accounts migration 0003 creates (derived from the code)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"innoshare:ledger:{code}")


BANK = platform_account_id("bank")
ESCROW = platform_account_id("escrow")
FEE_REVENUE = platform_account_id("fee_revenue")
TAX_PAYABLE = platform_account_id("tax_payable")


async def organization_account(session: AsyncSession, organization_id: uuid.UUID) -> uuid.UUID:
    """The id of the organization's payable account, created on first use."""
    code = f"org-{organization_id}"
    found = await session.scalar(
        select(LedgerAccount.id).where(LedgerAccount.organization_id == organization_id)
    )
    if found is not None:
        return found
    account_id = uuid.uuid4()
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        maker(LedgerAccount)
        .values(
            id=account_id,
            code=code,
            kind=AccountKind.organization,
            organization_id=organization_id,
            may_go_negative=False,
            created_at=utcnow(),
        )
        # No conflict target: the code and the organization are both unique, and a conflict
        # on a unique index that is not the target is an error, not a no-op, when two
        # transactions create the account at once.
        .on_conflict_do_nothing()
    )
    found = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    assert found is not None
    return found


async def balance(session: AsyncSession, account_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerBalance.balance_fen), 0)).where(
            LedgerBalance.account_id == account_id
        )
    )
    return int(total or 0)


# --- what auditors read ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account: LedgerAccount
    balance_fen: int
    as_of: datetime | None


async def list_accounts(session: AsyncSession) -> list[AccountBalance]:
    balances = dict(
        (
            await session.execute(
                select(LedgerBalance.account_id, func.sum(LedgerBalance.balance_fen)).group_by(
                    LedgerBalance.account_id
                )
            )
        ).all()
    )
    accounts = (await session.scalars(select(LedgerAccount).order_by(LedgerAccount.code))).all()
    return [AccountBalance(a, int(balances.get(a.id, 0)), None) for a in accounts]


async def account_balance(
    session: AsyncSession, account_id: uuid.UUID, *, as_of: datetime | None
) -> AccountBalance:
    account = await session.get(LedgerAccount, account_id)
    if account is None:
        raise NotFound(f"No ledger account {account_id}.")
    if as_of is None:
        return AccountBalance(account, await balance(session, account_id), None)
    total = await session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == account_id, JournalEntry.occurred_at <= as_of)
    )
    return AccountBalance(account, int(total or 0), as_of)

"""Payouts and tax remittances of the seeded ledger (issue 15), so the demo's books close.

Once a month, on the first working day from the 10th, the operator pays out what each seller
accrued by the end of the month before (most of them: about 85 %; balances under 1,000.00 wait),
never more than the account then holds; about 2 % of payouts come back from the bank a few
days later and are reversed, and the next month's run pays them again. On the first working day
from the 15th (the 征期) the month before's tax is remitted (about 90 % of months), with a
receipt number. Everything after the seed's end of May 2020 is not done yet. Entries are
written by :func:`post_entry <app.services.ledger.posting.post_entry>` with the services'
memos and postings (:mod:`app.services.payouts`), at the time they happen."""

import random
import uuid
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.demo.deals import SEED_ACTOR, working_time
from app.demo.plan import AS_OF, LAUNCH, SHANGHAI
from app.demo.rows import Progress
from app.demo.text import new_id
from app.models.ledger import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from app.models.orgs import Organization
from app.models.payouts import Payout, PayoutStatus, TaxRemittance
from app.services import payouts as payouts_service
from app.services.ledger import posting as ledger_posting
from app.services.ledger.accounts import TAX_PAYABLE
from app.services.ledger.entries import EntryFacts

PAID_SHARE = 0.85
RETURNED_SHARE = 0.02
REMITTED_SHARE = 0.9
MIN_PAYOUT_FEN = 100_000
RETURN_REASONS = ("收款账户信息有误", "收款账户已冻结", "户名与账号不符")


@dataclass(frozen=True, slots=True)
class PayoutFigures:
    payouts: int
    paid_fen: int
    """Paid out and not returned."""
    returned: int
    remittances: int
    remitted_fen: int

    @property
    def entries(self) -> int:
        """Journal entries written: each payout, each return, each remittance."""
        return self.payouts + self.returned + self.remittances


def _months() -> list[date]:
    """The first day of each month from launch to the seed's end (Shanghai)."""
    first = LAUNCH.astimezone(SHANGHAI).date().replace(day=1)
    last = AS_OF.astimezone(SHANGHAI).date()
    months = []
    while first <= last:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return months


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


@dataclass(slots=True)
class _Entry:
    when: datetime
    facts: EntryFacts
    postings: list[tuple[uuid.UUID, int]]
    row: dict[str, object] | None = None
    table: str = ""


async def write_payouts(
    session: AsyncSession, *, rng: random.Random, progress: Progress
) -> PayoutFigures:
    """Pay out most sellers monthly and remit most months' tax, up to the end of May 2020."""
    credits = (
        await session.execute(
            select(Posting.account_id, JournalEntry.occurred_at, Posting.amount_fen)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(
                (LedgerAccount.kind == AccountKind.organization)
                | (Posting.account_id == TAX_PAYABLE)
            )
            .order_by(JournalEntry.occurred_at)
        )
    ).all()
    owners = dict(
        (
            await session.execute(
                select(LedgerAccount.id, LedgerAccount.organization_id).where(
                    LedgerAccount.kind == AccountKind.organization
                )
            )
        ).all()
    )
    names = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_([o for o in owners.values() if o is not None])
                )
            )
        ).all()
    )

    # each account's postings as running sums, in time order: its balance before any time
    times: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    sums: dict[uuid.UUID, list[int]] = defaultdict(list)
    for account, at, amount in credits:
        times[account].append(at)
        sums[account].append((sums[account][-1] if sums[account] else 0) + amount)

    def held(account: uuid.UUID, before: datetime) -> int:
        count = bisect_left(times[account], before)
        return sums[account][count - 1] if count else 0

    # in the order of their organizations (the accounts' ids are the ledger's own draws)
    accounts = sorted(owners, key=lambda account: str(owners[account]))
    paid: dict[uuid.UUID, int] = defaultdict(int)  # net of returns, as of the runs so far
    remitted = 0
    entries: list[_Entry] = []
    returned = 0
    receipts = 0
    for month in _months()[1:]:
        month_start = _at(month)
        previous = _at((month - timedelta(days=1)).replace(day=1))
        run = working_time(rng, month_start + timedelta(days=9))
        if run <= AS_OF:
            for account in accounts:
                run = working_time(rng, month_start + timedelta(days=9))  # each its own time
                due = min(held(account, month_start), held(account, run)) - paid[account]
                if due < MIN_PAYOUT_FEN or rng.random() >= PAID_SHARE:
                    continue
                organization_id = owners[account]
                assert organization_id is not None
                reference = f"ICBC-{run.astimezone(SHANGHAI):%Y%m%d}-{rng.randrange(10**6):06d}"
                payout_id = new_id(rng)
                row: dict[str, object] = {
                    "id": payout_id,
                    "created_at": run,
                    "updated_at": run,
                    "organization_id": organization_id,
                    "amount_fen": due,
                    "bank_reference": reference,
                    "status": PayoutStatus.paid,
                    "created_by": SEED_ACTOR,
                }
                facts = EntryFacts(
                    kind=EntryKind.payout,
                    created_by=SEED_ACTOR,
                    memo=payouts_service.payout_memo(names[organization_id], reference),
                )
                entry = _Entry(run, facts, payouts_service.payout_postings(account, due), row, "p")
                entries.append(entry)
                paid[account] += due
                back = working_time(rng, run + timedelta(days=rng.randint(2, 5)))
                if rng.random() < RETURNED_SHARE and back <= AS_OF:
                    reason = rng.choice(RETURN_REASONS)
                    row.update(
                        status=PayoutStatus.returned,
                        returned_at=back,
                        updated_at=back,
                        return_reason=reason,
                        returned_by=SEED_ACTOR,
                    )
                    entries.append(
                        _Entry(
                            back,
                            EntryFacts(
                                kind=EntryKind.reversal,
                                created_by=SEED_ACTOR,
                                memo=payouts_service.return_memo(reference, reason),
                            ),
                            payouts_service.return_postings(account, due),
                            row,
                            "r",
                        )
                    )
                    paid[account] -= due
                    returned += 1
        tax_day = working_time(rng, month_start + timedelta(days=14))
        accrued = held(TAX_PAYABLE, month_start) - held(TAX_PAYABLE, previous)
        owed = held(TAX_PAYABLE, tax_day) - remitted
        amount = min(accrued, owed)
        if tax_day <= AS_OF and amount > 0 and rng.random() < REMITTED_SHARE:
            receipts += 1
            period = f"{previous:%Y-%m}"
            receipt = f"34{previous:%Y%m}{rng.randrange(10**8):08d}{receipts:04d}"
            facts = EntryFacts(
                kind=EntryKind.tax_remittance,
                created_by=SEED_ACTOR,
                memo=payouts_service.remittance_memo(period, receipt),
            )
            row = {
                "id": new_id(rng),
                "created_at": tax_day,
                "updated_at": tax_day,
                "amount_fen": amount,
                "receipt_number": receipt,
                "period": period,
                "created_by": SEED_ACTOR,
            }
            entries.append(
                _Entry(tax_day, facts, payouts_service.remittance_postings(amount), row, "t")
            )
            remitted += amount

    entries.sort(key=lambda e: e.when)
    advance = progress.task("payouts and tax", len(entries))
    payouts: list[dict[str, object]] = []
    remittances: list[dict[str, object]] = []
    for entry in entries:
        facts = entry.facts
        if entry.table == "r":
            assert entry.row is not None
            facts = EntryFacts(
                kind=facts.kind,
                created_by=facts.created_by,
                memo=facts.memo,
                reverses_id=uuid.UUID(str(entry.row["entry_id"])),
            )
        entry_id = await ledger_posting.post_entry(
            session, facts, entry.postings, occurred_at=entry.when
        )
        assert entry.row is not None
        if entry.table == "p":
            entry.row["entry_id"] = entry_id
            payouts.append(entry.row)
        elif entry.table == "r":
            entry.row["return_entry_id"] = entry_id
        else:
            entry.row["entry_id"] = entry_id
            remittances.append(entry.row)
        advance(1)
    for row in payouts:
        for column in ("returned_at", "return_reason", "return_entry_id", "returned_by"):
            row.setdefault(column, None)
    await bulk.copy_rows(session, Payout, payouts)
    await bulk.copy_rows(session, TaxRemittance, remittances)
    return PayoutFigures(
        payouts=len(payouts),
        paid_fen=sum(paid.values()),
        returned=returned,
        remittances=len(remittances),
        remitted_fen=remitted,
    )

"""The demo registers most of its transfer and development contracts, as the rules allow."""

import anyio.to_thread
from sqlalchemy import select

from app.core.db import Database, create_engine
from app.demo import load
from app.demo.plan import AS_OF, SCALES, SHANGHAI, ScaleName
from app.models.deals import ContractCategory, Deal, DealRegistration, DealStatus
from app.services import registrations as registrations_service
from tests.conftest import migrate


async def test_seed_registers_most_transfer_and_development_contracts(
    fresh_database_url: str,
) -> None:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    database = Database(create_engine(fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            await load.seed_database(
                session, scale=SCALES[ScaleName.small], random_seed=7, accounts=False
            )
        async with database.unit_of_work(write=False) as session:
            deals = {d.id: d for d in (await session.scalars(select(Deal))).all()}
            records = list((await session.scalars(select(DealRegistration))).all())
            listing = await registrations_service.list_registrations(
                session, start=None, end=None, limit=200, cursor=None
            )
    finally:
        await database.dispose()

    kinds = (ContractCategory.transfer, ContractCategory.development)
    standing = [
        d
        for d in deals.values()
        if d.category in kinds and d.status in registrations_service.FILABLE
    ]
    registered = [r for r in records if r.registration_number is not None]
    assert len(records) > len(standing) / 2
    assert len(registered) > len(records) / 2
    assert any(r.non_technical_fen for r in records)
    numbers = set()
    for record in records:
        deal = deals[record.deal_id]
        assert deal.category in kinds
        assert deal.status not in (DealStatus.cancelled, DealStatus.refunded)
        assert record.sub_kind in registrations_service.SUB_KINDS[deal.category]
        assert 0 <= record.non_technical_fen <= deal.gross_fen
        assert record.contract_number.startswith("410100")
        assert len(record.contract_number) == 16
        assert record.signed_on == deal.created_at.astimezone(SHANGHAI).date()
        if record.registered_on is not None:
            assert record.signed_on < record.registered_on <= AS_OF.astimezone(SHANGHAI).date()
            numbers.add(record.registration_number)
    assert len(numbers) == len(registered)

    assert len(listing.items) == len(registered)
    assert listing.total.technical_fen == sum(
        deals[r.deal_id].gross_fen - r.non_technical_fen for r in registered
    )
    by_kind = {t.category: t.contracts for t in listing.by_category}
    assert by_kind[ContractCategory.transfer] + by_kind[ContractCategory.development] == len(
        registered
    )

"""Technology-contract registration (技术合同认定登记): a deal's record
(/v1/deals/{deal_id}/registration: filed by its parties, granted by operators) and the
auditors' list of registered contracts with totals by kind (/v1/ledger/registrations)."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Response

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT
from app.core.routing import PrefixRouter
from app.core.security import Principal, Scope
from app.routers.deps import CurrentPrincipal, Cursor, Limit, RequireScope, SessionDep, SettingsDep
from app.schemas.base import Day
from app.schemas.registrations import (
    RegistrationFile,
    RegistrationGrant,
    RegistrationPage,
    RegistrationRead,
)
from app.services import registrations as registrations_service
from app.services.registrations import Registration, RegistrationListing

deal_registration_router = PrefixRouter(prefix="/v1/deals/{deal_id}/registration", tags=["deals"])
router = PrefixRouter(prefix="/v1/ledger/registrations", tags=["ledger"])

Auditor = Annotated[Principal, Depends(RequireScope(Scope.ledger_read))]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag you last saw; 412 if the registration has changed since."),
]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _with_etag(response: Response, registration: Registration) -> Registration:
    response.headers["ETag"] = registrations_service.etag_of(registration)
    return registration


@deal_registration_router.get(
    "",
    response_model=RegistrationRead,
    responses={**problem_responses(401, 404, 422), **sends_headers(200, "ETag")},
)
async def get_deal_registration(
    deal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> Registration:
    """A deal's technology-contract registration record (its parties, staff and auditors)."""
    registration = await registrations_service.get_registration(
        session, principal=principal, deal_id=deal_id
    )
    return _with_etag(response, registration)


@deal_registration_router.put(
    "",
    response_model=RegistrationRead,
    responses={**problem_responses(401, 403, 404, 409, 412, 422), **sends_headers(200, "ETag")},
)
async def file_deal_registration(
    deal_id: uuid.UUID,
    body: RegistrationFile,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Registration:
    """File or correct what the parties register with the technology-market office (a party
    with deals:write, or operators); frozen once registered."""
    registration = await registrations_service.file_registration(
        session,
        principal=principal,
        deal_id=deal_id,
        values=registrations_service.RegistrationInput(
            contract_number=body.contract_number,
            sub_kind=body.sub_kind,
            signed_on=body.signed_on,
            non_technical_fen=body.non_technical_costs,
        ),
        if_match=if_match,
        zone=settings.timezone,
    )
    return _with_etag(response, registration)


@deal_registration_router.post(
    "/grant",
    response_model=RegistrationRead,
    responses={**problem_responses(401, 403, 404, 409, 422), **sends_headers(200, "ETag")},
)
async def grant_deal_registration(
    deal_id: uuid.UUID,
    body: RegistrationGrant,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    response: Response,
) -> Registration:
    """Record the registration number the technology-market office granted (operators);
    the same number again is a no-op."""
    registration = await registrations_service.grant_registration(
        session,
        principal=principal,
        deal_id=deal_id,
        registration_number=body.registration_number,
        registered_on=body.registered_on,
        zone=settings.timezone,
    )
    return _with_etag(response, registration)


@router.get(
    "",
    response_model=RegistrationPage,
    responses={
        200: {
            "description": "A page of registered contracts with the period's totals (JSON), or"
            " every registered contract of the period and its totals (CSV).",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": ",".join(registrations_service.CSV_HEADER)
                    + "\nregistration,5b7e9c1a-8d2f-4a61-9f3e-2c4d5e6f7a80,transfer,"
                    "patent_transfer,4101002020000123,2020410100000456,2020-03-02,2020-03-20,1,"
                    "380000.00,30000.00,350000.00\n"
                    "total,,transfer,,,,,,1,380000.00,30000.00,350000.00\n",
                }
            },
        },
        **problem_responses(400, 401, 403, 422),
    },
)
async def list_registrations(
    session: SessionDep,
    _: Auditor,
    start: Annotated[
        Day | None, Query(alias="from", description="First registration day, included.")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Last registration day, included.")
    ] = None,
    export_format: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="json (a page) or csv (the whole period); or Accept."),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> RegistrationListing | Response:
    """Contracts registered in the period (by registration day), oldest first, with the
    technical amount (技术交易额) totalled by kind over the whole period (auditors, operators)."""
    wants_csv = export_format == "csv" or (
        export_format is None and accept is not None and "text/csv" in accept
    )
    if wants_csv:
        text = await registrations_service.registrations_csv(session, start=start, end=end)
        return Response(
            text,
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="registrations.csv"'},
        )
    return await registrations_service.list_registrations(
        session, start=start, end=end, limit=limit, cursor=cursor
    )

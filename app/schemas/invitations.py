"""Invitations to demands as clients send and read them."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from app.models.demands import DemandKind, DemandStatus
from app.schemas.base import InputSchema, Page, Schema

_DEMAND_ID = "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968"
_ORGANIZATION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
_INVITATION: JsonDict = {
    "id": "6c5b4a39-2817-4f6e-9d8c-7b6a59483726",
    "demand_id": _DEMAND_ID,
    "organization_id": _ORGANIZATION_ID,
    "created_at": "2026-03-01T01:00:00Z",
}


class InvitationCreate(InputSchema):
    organization_id: uuid.UUID = Field(description="The organization invited to propose.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"organization_id": _ORGANIZATION_ID}]}
    )


class InvitationRead(Schema):
    id: uuid.UUID
    demand_id: uuid.UUID
    organization_id: uuid.UUID
    created_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [_INVITATION]})


class InvitedDemandRead(Schema):
    """The demand an invitation is for, in short."""

    id: uuid.UUID
    title: str
    kind: DemandKind
    status: DemandStatus = Field(description="As read now: closed once the deadline has passed.")
    deadline: datetime


class ReceivedInvitationRead(InvitationRead):
    """An invitation an organization received, with the demand it is for."""

    demand: InvitedDemandRead

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_INVITATION,
                    "demand": {
                        "id": _DEMAND_ID,
                        "title": "盾构刀盘磨损在线监测方案征集",
                        "kind": "technology",
                        "status": "open",
                        "deadline": "2026-04-01T10:00:00Z",
                    },
                }
            ]
        }
    )


class InvitationPage(Page[InvitationRead]):
    """One page of a demand's invitations."""


class ReceivedInvitationPage(Page[ReceivedInvitationRead]):
    """One page of invitations your organization received."""

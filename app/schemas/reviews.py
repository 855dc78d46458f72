"""Reviews of a settled deal's parties as clients send and read them."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from app.models.reviews import ReviewSide
from app.schemas.base import InputSchema, Page, Schema, partial

_TEXT = "交付及时, 技术资料完整, 现场调试配合顺畅, 值得长期合作。"
_REASON = "含辱骂性语言及对方人员的个人信息"

Rating = Annotated[int, Field(ge=1, le=5, description="1 to 5 stars.", examples=[5])]
ReviewText = Annotated[str, Field(min_length=1, max_length=5000, examples=[_TEXT])]


class ReviewCreate(InputSchema):
    rating: Rating
    text: ReviewText

    model_config = ConfigDict(json_schema_extra={"examples": [{"rating": 5, "text": _TEXT}]})


ReviewUpdate = partial(
    ReviewCreate,
    "ReviewUpdate",
    "Only the fields sent change; only while the review does not show yet.",
    {"rating": 4},
)


class ReviewHide(InputSchema):
    reason: str = Field(min_length=1, max_length=500, examples=[_REASON])

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": _REASON}]})


_READ_EXAMPLE: JsonDict = {
    "id": "6b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "deal_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "side": "buyer",
    "reviewer_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
    "reviewee_id": "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d",
    "rating": 5,
    "text": _TEXT,
    "created_at": "2026-05-20T03:00:00Z",
    "updated_at": "2026-05-20T03:00:00Z",
    "shown": True,
    "shows_at": "2026-05-22T09:30:00Z",
    "hidden": False,
    "hidden_reason": None,
}


class ReviewRead(Schema):
    """A review as the caller may read it. Until it shows, only its author's organization,
    staff and auditors read it."""

    id: uuid.UUID
    deal_id: uuid.UUID
    side: ReviewSide = Field(description="The side of the deal that wrote it.")
    reviewer_id: uuid.UUID = Field(description="The organization that wrote it.")
    reviewee_id: uuid.UUID = Field(description="The organization it rates.")
    rating: int = Field(description="1 to 5 stars.")
    text: str
    created_at: datetime
    updated_at: datetime
    shown: bool = Field(
        description="Whether it shows: the other side has reviewed too, or 14 days have passed"
        " since the deal settled. A review that shows can no longer be edited."
    )
    shows_at: datetime = Field(
        description="When it showed; while it does not, the latest moment it will (the other"
        " side's review may make it sooner)."
    )
    hidden: bool = Field(description="Hidden by an operator: out of public lists and ratings.")
    hidden_reason: str | None = Field(
        description="Why an operator hid it: staff, auditors and its author only."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [_READ_EXAMPLE]})


class ReviewPage(Page[ReviewRead]):
    """One page of reviews."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_READ_EXAMPLE], "next_cursor": None}]}
    )

"""Clarification questions as clients send and read them."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from app.schemas.base import InputSchema, Page, Schema

_QUESTION = "刀盘监测数据是否需要接入贵方现有的盾构管理平台?"
_ANSWER = "需要, 平台提供 MQTT 接口, 文档随合同提供。"
_REASON = "含联系方式, 违反匿名提问规则"


class QuestionCreate(InputSchema):
    text: str = Field(min_length=1, max_length=2000, examples=[_QUESTION])

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": _QUESTION}]})


class QuestionAnswer(InputSchema):
    text: str = Field(min_length=1, max_length=5000, examples=[_ANSWER])

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": _ANSWER}]})


class QuestionHide(InputSchema):
    reason: str = Field(min_length=1, max_length=500, examples=[_REASON])

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": _REASON}]})


class QuestionRead(Schema):
    """A question as the caller may read it: anonymous to everyone but staff and auditors."""

    id: uuid.UUID
    demand_id: uuid.UUID
    text: str
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    asked_by_you: bool = Field(description="Whether the caller's organization asked it.")
    asker_organization_id: uuid.UUID | None = Field(
        description="The asking organization: shown to staff and auditors only, null otherwise."
    )
    hidden: bool = Field(description="Hidden by an operator: then seen by staff and auditors only.")
    hidden_reason: str | None = Field(description="Why it was hidden: staff and auditors only.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
                    "demand_id": "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968",
                    "text": _QUESTION,
                    "answer": _ANSWER,
                    "answered_at": "2026-03-04T02:30:00Z",
                    "created_at": "2026-03-03T08:15:00Z",
                    "asked_by_you": False,
                    "asker_organization_id": None,
                    "hidden": False,
                    "hidden_reason": None,
                }
            ]
        }
    )


class QuestionPage(Page[QuestionRead]):
    """One page of a demand's questions."""

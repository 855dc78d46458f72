"""Shapes of sign-in, tokens, users and API keys."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from app.core.security import PrincipalKind, Role, Scope
from app.schemas.base import InputSchema, Moment, NotNull, Page, Schema, omittable

Email = Annotated[
    str,
    StringConstraints(
        to_lower=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=512)]


_NO_NUL = r"^[^\x00]*$"
SIGN_IN_EXAMPLE: JsonDict = {
    "grant_type": "password",
    "username": "zhang.wei@zzu.edu.cn",
    "password": "correct horse battery staple",
}


class SignInForm(Schema):
    """The OAuth2 password form (RFC 6749 §4.3.2), sent as
    ``application/x-www-form-urlencoded``; other OAuth2 fields (``scope``, ``client_id``) are
    ignored."""

    model_config = ConfigDict(json_schema_extra={"examples": [SIGN_IN_EXAMPLE]})

    username: str = Field(
        min_length=1, max_length=254, pattern=_NO_NUL, description="The account's email."
    )
    password: str = Field(min_length=1, max_length=256, pattern=_NO_NUL)
    grant_type: Literal["password"] = Field(
        default="password",
        description='"password" when sent (OAuth2 clients send it); a form cannot say null.',
    )


class TokenResponse(Schema):
    """OAuth2 bearer token response (RFC 6749 §5.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi…",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "isr_3q2-7wEvDk0U7sbaXr1mZp0iB8Ckm6f7hL8w0nI1f2Q",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Single use: exchange it once at /v1/auth/refresh.")


class RefreshRequest(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"refresh_token": "isr_3q2-7wEvDk0U7sbaXr1mZp0iB8Ckm6f7hL8w0nI1f2Q"}]
        }
    )

    refresh_token: OpaqueToken


class MeRead(Schema):
    """The calling principal: a signed-in user or an API key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "user",
                    "id": "0e9f3b8e-6f0c-4d7e-9a55-2a4f0c1b7d21",
                    "email": "li.wei@zzu.edu.cn",
                    "role": "member",
                    "organization_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
                    "scopes": ["catalog:write", "deals:write", "demands:write"],
                }
            ]
        }
    )

    kind: PrincipalKind
    id: uuid.UUID
    email: str | None
    role: Role
    organization_id: uuid.UUID | None
    scopes: list[Scope]


_USER_EXAMPLE: JsonDict = {
    "email": "li.wei@zzu.edu.cn",
    "role": "member",
    "organization_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
}


class UserCreate(InputSchema):
    """Members belong to an organization; staff and auditors may have none."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_USER_EXAMPLE, "password": "correct horse battery"}]}
    )

    email: Email
    password: Password
    role: Role = Role.member
    organization_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _member_has_organization(self) -> Self:
        if self.role is Role.member and self.organization_id is None:
            raise ValueError("a member must belong to an organization")
        return self


class UserUpdate(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"is_active": False}]})

    role: Annotated[Role, NotNull] = omittable()
    organization_id: uuid.UUID | None = Field(
        default=None, description="null: the user belongs to no organization."
    )
    is_active: Annotated[bool, NotNull] = omittable()
    password: Annotated[Password, NotNull] = omittable()


class UserRead(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0e9f3b8e-6f0c-4d7e-9a55-2a4f0c1b7d21",
                    **_USER_EXAMPLE,
                    "is_active": True,
                    "last_login_at": None,
                    "created_at": "2026-11-24T08:00:00Z",
                    "updated_at": "2026-11-24T08:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    email: str
    role: Role
    organization_id: uuid.UUID | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "技术转移中心同步程序", "scopes": ["catalog:write"]}]
        }
    )

    name: KeyName
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_at: Moment | None = Field(
        default=None, description="Optional; never expires when null."
    )


_KEY_EXAMPLE: JsonDict = {
    "id": "9d1b6c8a-3e0f-4b52-8a7d-61c2f4e0b913",
    "organization_id": "5f0c6a4e-2b1d-4c39-9a43-8f0e2d7c1a55",
    "name": "技术转移中心同步程序",
    "prefix": "isk_Q7fV2mZx",
    "scopes": ["catalog:write"],
    "expires_at": None,
    "last_used_at": None,
    "revoked_at": None,
    "created_at": "2026-11-24T08:00:00Z",
}


class ApiKeyRead(Schema):
    """An API key without its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    """The new key; ``key`` is shown in this response only and cannot be recovered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_KEY_EXAMPLE, "key": "isk_Q7fV2mZxk3Jr0bW9yP1tLq8sD4nA6cE2hU5oG7iT0vM"}]
        }
    )

    key: str


class UserPage(Page[UserRead]):
    """One page of accounts."""


class ApiKeyPage(Page[ApiKeyRead]):
    """One page of API keys (without their secrets)."""

"""Signing in, tokens, the caller, user accounts and API keys."""

import uuid
from typing import Annotated

from fastapi import Form, Query, Response, status

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.core.security import Role
from app.models.auth import ApiKey, User
from app.routers.deps import (
    ClientAddress,
    CurrentPrincipal,
    Cursor,
    Limit,
    SessionDep,
    SettingsDep,
)
from app.schemas.auth import (
    SIGN_IN_EXAMPLE,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    MeRead,
    RefreshRequest,
    SignInForm,
    TokenResponse,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from app.services import auth as auth_service

router = PrefixRouter(tags=["auth"])
users_router = PrefixRouter(prefix="/v1/users", tags=["users"])
api_keys_router = PrefixRouter(
    prefix="/v1/organizations/{organization_id}/api-keys", tags=["api-keys"]
)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    responses=problem_responses(401, 422, 429),
    openapi_extra={
        "requestBody": {"content": {FORM_MEDIA_TYPE: {"example": SIGN_IN_EXAMPLE}}},
    },
)
async def issue_token(
    form: Annotated[SignInForm, Form(media_type=FORM_MEDIA_TYPE)],
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
    response: Response,
) -> auth_service.TokenPair:
    """Sign in with email and password (OAuth2 password form, sent form-encoded as
    `application/x-www-form-urlencoded`, not JSON) for an access and refresh token."""
    response.headers.update(NO_STORE)
    return await auth_service.sign_in(
        session,
        email=form.username,
        password=form.password,
        client_address=address,
        settings=settings,
    )


@router.post(
    "/v1/auth/refresh",
    response_model=TokenResponse,
    responses=problem_responses(401, 422),
)
async def refresh_token(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, response: Response
) -> auth_service.TokenPair:
    """Exchange a refresh token for a new pair; the old one is spent (rotation)."""
    response.headers.update(NO_STORE)
    return await auth_service.refresh_tokens(
        session, refresh_token=body.refresh_token, settings=settings
    )


@router.post(
    "/v1/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
)
async def logout(body: RefreshRequest, session: SessionDep) -> None:
    """End a session: revoke the refresh token and every token rotated from the same sign-in."""
    await auth_service.sign_out(session, refresh_token=body.refresh_token)


@router.get("/v1/me", response_model=MeRead, responses=problem_responses(401))
async def get_me(session: SessionDep, principal: CurrentPrincipal) -> auth_service.Identity:
    """Who the credential belongs to: role, organization and scopes."""
    return await auth_service.describe_principal(session, principal=principal)


# --- users -----------------------------------------------------------------------------------


@users_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses={**problem_responses(401, 403, 409, 422), **sends_headers(201, "Location")},
)
async def create_user(
    body: UserCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> User:
    """Create an account (admins: any role; operators: members)."""
    user = await auth_service.create_user(session, principal=principal, data=body)
    response.headers["Location"] = f"/v1/users/{user.id}"
    return user


@users_router.get(
    "",
    response_model=UserPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_users(
    session: SessionDep,
    principal: CurrentPrincipal,
    role: Role | None = None,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[User]:
    """List accounts, newest first (admins and operators)."""
    return await auth_service.list_users(
        session,
        principal=principal,
        role=role,
        organization_id=organization_id,
        limit=limit,
        cursor=cursor,
    )


@users_router.get(
    "/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 422)
)
async def get_user(user_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> User:
    """Get one account (staff, or the account's owner)."""
    return await auth_service.get_user(session, principal=principal, user_id=user_id)


@users_router.patch(
    "/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 422)
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: SessionDep, principal: CurrentPrincipal
) -> User:
    """Change role, organization, password or disable an account; disabling ends its sessions."""
    return await auth_service.update_user(session, principal=principal, user_id=user_id, data=body)


# --- API keys --------------------------------------------------------------------------------


@api_keys_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 403, 404, 422),
)
async def create_api_key(
    organization_id: uuid.UUID,
    body: ApiKeyCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> auth_service.IssuedApiKey:
    """Issue an API key for a program of the organization; the key is shown only here."""
    response.headers.update(NO_STORE)
    return await auth_service.create_api_key(
        session, principal=principal, organization_id=organization_id, data=body
    )


@api_keys_router.get(
    "",
    response_model=ApiKeyPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_api_keys(
    organization_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ApiKey]:
    """List the organization's API keys without their secrets, with when each was last used."""
    return await auth_service.list_api_keys(
        session, principal=principal, organization_id=organization_id, limit=limit, cursor=cursor
    )


@api_keys_router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_api_key(
    organization_id: uuid.UUID, key_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> None:
    """Revoke an API key; it stops working at once."""
    await auth_service.revoke_api_key(
        session, principal=principal, organization_id=organization_id, key_id=key_id
    )

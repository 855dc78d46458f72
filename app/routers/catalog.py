"""What every catalog router shares: list parameters, and the item routes (create, get,
update, publish, withdraw, history) built once for a catalog's spec and schemas."""

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import TypeAdapter

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.models.catalog import CatalogHistory, CatalogStatus, HistoryAction
from app.routers.deps import (
    CurrentPrincipal,
    Cursor,
    FastReadDep,
    Limit,
    SearchIndexDep,
    SessionDep,
)
from app.schemas.base import Moment
from app.schemas.catalog import HistoryPage
from app.services import catalog as catalog_service
from app.services.catalog import CatalogQuery, CatalogSpec

IfMatch = Annotated[
    str | None,
    Header(description="The ETag you last saw; 412 if the item has changed since."),
]


#: The orders every catalog (and demands) knows; a catalog may add its own (CatalogSpec.sorts).
SORTS = ("relevance", "newest", "oldest")


def query_parameters(
    statuses: type[StrEnum],
    status_help: str,
    *,
    facets: Sequence[str],
    sorts: Iterable[str] = (),
) -> Callable[..., Awaitable[CatalogQuery]]:
    """The list parameters every catalog takes, ``status`` being one of ``statuses``,
    ``sort`` one of SORTS and ``sorts`` (an enum in the schema) and ``facets`` a
    comma-separated list of ``facets`` (a pattern in the schema: a query parameter keeps its
    comma form, which an enum of one value cannot say)."""
    sort_names = (*SORTS, *sorts)
    sort_type: Any = Literal[sort_names]  # an enum in the schema, built per catalog
    facet_name = "(?:" + "|".join(re.escape(name) for name in facets) + ")"
    facets_pattern = rf"^ *{facet_name} *(?:, *{facet_name} *)*$"

    async def catalog_query(
        index: SearchIndexDep,
        q: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=200,
                description="Full text, Chinese and English: 盾构 刀盘, 5G 基站, grinding.",
            ),
        ] = None,
        status: Annotated[
            list[statuses] | None,  # type: ignore[valid-type]
            Query(description=status_help),
        ] = None,
        owner_id: Annotated[
            list[uuid.UUID] | None, Query(description="Owning organizations.")
        ] = None,
        tag: Annotated[
            list[str] | None, Query(max_length=30, description="All of these tags.")
        ] = None,
        created_from: Annotated[Moment | None, Query()] = None,
        created_to: Annotated[Moment | None, Query()] = None,
        sort: Annotated[
            sort_type | None,
            Query(
                description="relevance (default with q; needs q), newest (default without),"
                " oldest, or one of the catalog's own orders.",
            ),
        ] = None,
        facets: Annotated[
            str | None,
            Query(
                max_length=200,
                pattern=facets_pattern,
                description=f"Comma-separated fields to count values of: {', '.join(facets)}.",
            ),
        ] = None,
        highlight: Annotated[
            bool,
            Query(
                description="With q: `highlights` gives each hit whose body matched a snippet"
                " with the matched terms in <mark>…</mark> (HTML-escaped otherwise)."
            ),
        ] = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> CatalogQuery:
        """The list parameters every catalog takes."""
        return CatalogQuery(
            q=q,
            statuses=status,
            owner_ids=owner_id,
            tags=tag,
            created_from=created_from,
            created_to=created_to,
            sort=sort,
            facets=[name.strip() for name in (facets or "").split(",") if name.strip()],
            limit=limit,
            cursor=cursor,
            highlight=highlight,
            index=index,
        )

    return catalog_query


def catalog_query(spec: CatalogSpec[Any]) -> Any:
    """The list parameters of the catalog ``spec`` (its facets and its own orders), as a
    dependency: ``query: catalog_query(SPEC)``."""
    return Annotated[
        CatalogQuery,
        Depends(
            query_parameters(
                CatalogStatus,
                "Default published. Others show only your organization's items.",
                facets=spec.facets,
                sorts=spec.sorts,
            )
        ),
    ]


def _model_response(
    adapter: TypeAdapter[Any], value: Any, *, headers: Mapping[str, str]
) -> Response:
    """``value`` as its response model's JSON, rendered here instead of by FastAPI.

    The same validation and serialization FastAPI applies to a ``response_model`` (which
    stays declared for the OpenAPI document), without its generic machinery around them:
    a measurable part of the busiest read.
    """
    body = adapter.dump_json(adapter.validate_python(value), by_alias=True)
    return Response(body, media_type="application/json", headers=headers)


def add_item_routes(
    router: APIRouter,
    spec: CatalogSpec[Any],
    *,
    read: type[Any],
    create: type[Any],
    update: type[Any],
) -> None:
    """POST /, GET /{id}, PATCH /{id}, POST /{id}/publish, POST /{id}/withdraw,
    GET /{id}/history for one catalog; operation ids name the catalog's noun."""
    noun = spec.noun.lower().replace(" ", "_")
    label = spec.noun
    read_adapter: TypeAdapter[Any] = TypeAdapter(read)

    async def create_item(
        body: create,  # type: ignore[valid-type]
        session: SessionDep,
        principal: CurrentPrincipal,
        response: Response,
    ) -> Any:
        values = body.model_dump(exclude={"owner_id"})  # type: ignore[attr-defined]
        item = await catalog_service.create_item(
            session,
            spec,
            principal=principal,
            values=values,
            owner_id=body.owner_id,  # type: ignore[attr-defined]
        )
        response.headers["Location"] = f"{router.prefix}/{item.id}"
        response.headers["ETag"] = catalog_service.etag_of(item)
        return item

    async def get_item(item_id: uuid.UUID, read: FastReadDep) -> Any:
        principal = read.principal
        item = await catalog_service.get_item(read.db, spec, principal=principal, item_id=item_id)
        etag = catalog_service.etag_of(item, public=principal is None and bool(spec.private_fields))
        return _model_response(read_adapter, item, headers={"ETag": etag})

    async def update_item(
        item_id: uuid.UUID,
        body: update,  # type: ignore[valid-type]
        session: SessionDep,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> Any:
        item = await catalog_service.update_item(
            session,
            spec,
            principal=principal,
            item_id=item_id,
            values=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
            if_match=if_match,
        )
        response.headers["ETag"] = catalog_service.etag_of(item)
        return item

    def transition(action: HistoryAction) -> Any:
        async def change_status(
            item_id: uuid.UUID,
            session: SessionDep,
            principal: CurrentPrincipal,
            response: Response,
            if_match: IfMatch = None,
        ) -> Any:
            item = await catalog_service.transition_item(
                session,
                spec,
                principal=principal,
                item_id=item_id,
                action=action,
                if_match=if_match,
            )
            response.headers["ETag"] = catalog_service.etag_of(item)
            return item

        return change_status

    async def item_history(
        item_id: uuid.UUID,
        session: SessionDep,
        principal: CurrentPrincipal,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[CatalogHistory]:
        return await catalog_service.list_history(
            session, spec, principal=principal, item_id=item_id, limit=limit, cursor=cursor
        )

    writes = {**problem_responses(401, 403, 404, 409, 412, 422), **sends_headers(200, "ETag")}
    # path, method, endpoint, status, response model, errors, operation, description
    routes: list[tuple[str, str, Any, int, Any, Any, str, str]] = [
        ("", "POST", create_item, status.HTTP_201_CREATED, read,
         {**problem_responses(401, 403, 409, 422), **sends_headers(201, "Location", "ETag")},
         f"create_{noun}",
         f"Create a {label} as a draft, owned by your organization."),
        ("/{item_id}", "GET", get_item, status.HTTP_200_OK, read,
         problem_responses(404, 422), f"get_{noun}",
         f"Get one {label}; drafts and withdrawn ones only for their owners."),
        ("/{item_id}", "PATCH", update_item, status.HTTP_200_OK, read, writes,
         f"update_{noun}", f"Change a {label}'s fields; an unchanged value writes nothing."),
        ("/{item_id}/publish", "POST", transition(HistoryAction.publish), status.HTTP_200_OK,
         read, writes, f"publish_{noun}", f"Publish a draft {label}: everyone can see it."),
        ("/{item_id}/withdraw", "POST", transition(HistoryAction.withdraw), status.HTTP_200_OK,
         read, writes, f"withdraw_{noun}",
         f"Withdraw a {label} from the catalog; this is final."),
        ("/{item_id}/history", "GET", item_history, status.HTTP_200_OK, HistoryPage,
         problem_responses(400, 401, 403, 404, 422), f"list_{noun}_history",
         f"Who changed the {label}, what and when (owners and staff)."),
    ]  # fmt: skip
    for path, method, endpoint, status_code, model, errors, name, description in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            status_code=status_code,
            response_model=model,
            responses=errors,
            name=name,
            description=description,
        )

"""The `/{id}/activity` timeline endpoint that each feature's API offers for its records."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, Protocol

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service
from estatecrm.activity.schemas import ActivityRead
from estatecrm.auth.deps import CurrentUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging


class Owner(Protocol):
    """A feature's service module: its records' entity type, and `get` (404 if not yours)."""

    ENTITY: str

    def get(self, session: AsyncSession, user: User, entity_id: int, /) -> Awaitable[object]: ...


def add_timeline_route(router: APIRouter, path: str, owner: Owner, doc: str | None = None) -> None:
    """Add `GET path` (ending in `/{x_id}/activity`): the record's timeline, newest first.

    The path parameter keeps its own name (`sale_id`, ...) and the route is named after it
    (`sale_activity`), so the OpenAPI document reads as if each feature wrote the endpoint.
    """
    id_name = path.rsplit("{", 1)[1].split("}", 1)[0]
    noun = id_name.removesuffix("_id")

    async def endpoint(
        session: AsyncSession, user: User, paging: Any, **ids: int
    ) -> Page[ActivityRead]:
        entity_id = ids[id_name]
        await owner.get(session, user, entity_id)
        rows, total = await service.timeline(
            session,
            user.agency_id,
            owner.ENTITY,
            entity_id,
            limit=paging.limit,
            offset=paging.offset,
        )
        return paging.page([ActivityRead.model_validate(r) for r in rows], total)

    # FastAPI reads the parameters from the signature: name the id after the path.
    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(id_name, keyword, annotation=int),
            inspect.Parameter("session", keyword, annotation=SessionDep),
            inspect.Parameter("user", keyword, annotation=CurrentUser),
            inspect.Parameter("paging", keyword, annotation=Paging),
        ],
        return_annotation=Page[ActivityRead],
    )
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_model=Page[ActivityRead],
        name=f"{noun}_activity",
        description=doc or f"The {noun}'s timeline, newest first.",
    )

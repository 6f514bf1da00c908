"""The `/{id}/activity` timeline endpoint that each feature's API offers for its records."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service
from estatecrm.activity.schemas import ActivityRead
from estatecrm.auth.deps import CurrentUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging

# Loads the record the timeline belongs to: raises NotFound for a missing or foreign one.
Loader = Callable[[AsyncSession, User, int], Awaitable[object]]


def add_timeline_route(
    router: APIRouter, path: str, *, entity_type: str, load: Loader, name: str, doc: str
) -> None:
    """Add `GET path` (ending in `/{x_id}/activity`): the record's timeline, newest first.

    The path parameter keeps its own name (`sale_id`, `contact_id`, ...), so the OpenAPI
    document and operation ids read as if each feature had written the endpoint itself.
    """
    id_name = path.rsplit("{", 1)[1].split("}", 1)[0]

    async def endpoint(
        session: AsyncSession, user: User, paging: Any, **ids: int
    ) -> Page[ActivityRead]:
        entity_id = ids[id_name]
        await load(session, user, entity_id)
        rows, total = await service.timeline(
            session,
            user.agency_id,
            entity_type,
            entity_id,
            limit=paging.limit,
            offset=paging.offset,
        )
        return Page(
            items=[ActivityRead.model_validate(r) for r in rows],
            total=total,
            limit=paging.limit,
            offset=paging.offset,
        )

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
        name=name,
        description=doc,
    )

"""Limit/offset pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class PageParams(BaseModel):
    """What page of a list a client asks for."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def page(self, items: Sequence[T], total: int) -> Page[T]:
        """This page of a list: its items and the total the list holds."""
        return Page(items=list(items), total=total, limit=self.limit, offset=self.offset)


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageParams:
    """Query parameters `limit` (1-100, default 20) and `offset`."""
    return PageParams(limit=limit, offset=offset)


def offset_from(params: Mapping[str, str]) -> int:
    """The `offset` a web page's query asks for (0 when it is missing or not a number)."""
    try:
        return max(0, int(params.get("offset") or 0))
    except ValueError:
        return 0


Paging = Annotated[PageParams, Depends(page_params)]
"""The `limit`/`offset` query parameters of a list endpoint, as one dependency."""


class Page(BaseModel, Generic[T]):
    """One page of a list: `{"items", "total", "limit", "offset"}`."""

    items: list[T]
    total: int
    limit: int
    offset: int

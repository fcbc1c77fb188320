"""Cursor pagination of the lists that grow: newest first, one page at a time.

Every list that can grow takes ``limit`` (the page's size) and ``cursor``, and answers a JSON
array as it always did. When more entries follow, the answer names the next page in two headers:
``X-Next-Cursor`` (the cursor) and ``Link: <...>; rel="next"`` (RFC 8288: the same request with
that cursor); the last page has neither. A client that reads only the first page needs no change.

A cursor is opaque to clients. Inside, it is the sort key of the last entry of its page (JSON,
base64url), and the next page starts right after that key (keyset pagination): sales made while a
client pages do not shift what it sees, and a page costs a seek, not a walk over the pages before.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response

from shared.problems import ApiError

T = TypeVar("T")
Key = tuple[int, str]

CURSOR = "the next page: the X-Next-Cursor of the page before (also in its Link rel=next)"


def decode_cursor(cursor: str | None) -> Key | None:
    """The sort key a ``cursor`` names (None: the first page); 400 for one that is not ours."""
    if cursor is None:
        return None
    try:
        key = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != 2
        or type(key[0]) is not int
        or not isinstance(key[1], str)
    ):
        raise ApiError(400, "bad-request", "cursor is not one this list handed out")
    return key[0], key[1]


def encode_cursor(key: Key) -> str:
    """The opaque cursor of a sort key."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).rstrip(b"=").decode()


def page(
    request: Request[Any, Any, Any], rows: Sequence[T], limit: int, key: Callable[[T], Key]
) -> Response[list[T]]:
    """The first ``limit`` of ``rows`` (read one beyond the page, to know whether more follow),
    naming the next page when they do."""
    items = list(rows[:limit])
    headers: dict[str, str] = {}
    if len(rows) > limit:
        cursor = encode_cursor(key(items[-1]))
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        url = f"{request.url.path}?{urlencode([*query, ('cursor', cursor)])}"
        headers = {"X-Next-Cursor": cursor, "Link": f'<{url}>; rel="next"'}
    return Response(items, status_code=200, headers=headers)

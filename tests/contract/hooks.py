"""Schemathesis hooks (loaded through ``SCHEMATHESIS_HOOKS``): msgpack bodies, as the relay's
sync routes speak them.

A generated body is sent as msgpack with its bin fields as bin: the schema shows them as base64
strings (``contentEncoding: base64``), so a body that converts to the route's message Struct is
sent as that Struct; anything else (negative cases) is sent as generated. An answer is decoded
and its bin fields shown as base64 again, to be checked against the same schema.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import schemathesis

from cloud.relay.openapi import MSGPACK, MSGPACK_BODIES


@schemathesis.serializer(MSGPACK)
def to_msgpack(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    operation = ctx.case.operation
    request = MSGPACK_BODIES.get(f"{operation.method.upper()} {operation.path}", (None, None))[0]
    if request is not None:
        # Not a valid message (a negative case): sent as generated, for the relay to refuse.
        with contextlib.suppress(msgspec.ValidationError):
            value = msgspec.convert(value, request)
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:  # msgpack has 64-bit integers: send the nearest one
        return msgspec.msgpack.encode(_clamp(value))


def _clamp(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return max(-(2**63), min(value, 2**64 - 1))
    if isinstance(value, dict):
        return {key: _clamp(item) for key, item in value.items()}
    return [_clamp(item) for item in value]


@schemathesis.deserializer(MSGPACK)
def from_msgpack(ctx: schemathesis.DeserializationContext, response: Any) -> Any:
    return msgspec.to_builtins(msgspec.msgpack.decode(response.content))

"""Strict JSON request bodies: one decoder for every route, so "2" is never taken for 2.

Litestar decodes a body to plain Python values and converts them into the handler's ``data`` type
with ``msgspec.convert(strict=False)``, which turns "2" and 2.0 into 2 and accepts both silently.
``StrictRequest`` (the app's request class) decodes the body bytes straight into that type with
msgspec's strict rules instead; the signature model then passes the ready Struct through unchanged.
Handlers declare ``data: JSONBody[SomeStruct]``, so the OpenAPI schema documents every body.
"""

from __future__ import annotations

import re
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException

from shared.problems import ApiError

# msgspec ends a validation message with the JSON path of the bad value: "... - at `$.lines[0]`".
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>.*)`)?$", re.DOTALL)


class Lowercase:
    """``Annotated`` marker: the body decoder stores this string lowercased (ids in any case)."""


LOWERCASE = Lowercase()


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded strictly into the handler's ``data`` type."""

    async def json(self) -> Any:
        """The body as the handler's ``data`` type: no str->int, float->int or int->str."""
        field = self.route_handler.parsed_data_field
        if field is None:
            return await super().json()
        media = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            # A form or text/plain body that happens to parse as JSON was not meant as this
            # request: say so rather than guess (a missing type is taken as JSON).
            raise ApiError(
                415,
                "unsupported-media-type",
                f"The body is {media}; send JSON with 'Content-Type: application/json'.",
            )
        try:
            # The annotation without its top-level Annotated extras, as Litestar's own conversion.
            value = _decoder(field.annotation).decode(await self.body() or b"null")
        except msgspec.ValidationError as exc:
            raise _invalid(exc) from exc
        except msgspec.DecodeError as exc:
            # Not JSON at all: Litestar answers a SerializationException with a plain 400.
            raise SerializationException(str(exc)) from exc
        return _normalise(value)


@cache
def _decoder(annotation: Any) -> msgspec.json.Decoder[Any]:
    # strict=True is msgspec's default; spelt out because it is the whole point.
    return msgspec.json.Decoder(annotation, strict=True)


def _invalid(exc: msgspec.ValidationError) -> ValidationException:
    """The same shape as Litestar's own body errors: one entry with key, message and source."""
    match = _AT.match(str(exc))
    message, key = (match["message"], match["key"]) if match else (str(exc), None)
    error: dict[str, str] = {"message": message, "source": "body"}
    if key:
        error["key"] = key
    where = f" at {key}" if key else ""
    return ValidationException(detail=f"Invalid request body: {message}{where}", extra=[error])


def _normalise(value: Any) -> Any:
    """Lowercase the fields marked ``Lowercase``, in the body and every Struct nested in it."""
    if isinstance(value, msgspec.Struct):
        for name in _lowercase_fields(type(value)):
            if isinstance(text := getattr(value, name), str):
                setattr(value, name, text.lower())
        for name in value.__struct_fields__:
            _normalise(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            _normalise(item)
    return value


@cache
def _lowercase_fields(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    # msgspec resolves the annotations (with their Annotated extras) the way its decoder does.
    return tuple(field.name for field in msgspec.structs.fields(struct) if _marked(field.type))


def _marked(annotation: Any) -> bool:
    # A marked string, or a union holding one (``EntityId | None``); containers are not looked in.
    origin = get_origin(annotation)
    if origin is Annotated:
        return any(isinstance(meta, Lowercase) for meta in annotation.__metadata__)
    return origin in (Union, UnionType) and any(_marked(arg) for arg in get_args(annotation))

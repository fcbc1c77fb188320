"""The compact encoding of single-writer entities in documents: positional msgpack, ids as bytes.

A day document holds every order, payment, till entry and audit entry of a store's day, and every
replica stores, replays and ships it. As JSON with field names a quick sale cost about 3.4 KB in
it; most of that was names and the text form of UUIDs. Here an entity is a msgpack array of its
field values in the struct's field order, nested structs alike, and text that is a canonical UUID
(an id, at any depth, plain dicts included) is carried as its 16 bytes; no entity holds bytes of
its own, so 16 bytes always read back as that text. Trailing fields still at their default are
left out, and an entity's own ``id`` is not written at all: it is the key of its entry.

The positions are the format: fields of these structs are only ever appended, never reordered
or removed (``tests/unit/test_compact.py`` pins the order). A reader fills fields missing at the
end with their defaults and ignores extra trailing values written by a newer version.

Documents written before this encoding hold JSON text; ``decode`` still reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec

T = TypeVar("T")
Convert = Callable[[Any], Any]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _id_out(value: str) -> str | bytes:
    # Only the canonical (lower-case) form: it must read back as the very same text.
    if len(value) == 36 and _UUID.fullmatch(value):
        return bytes.fromhex(value.replace("-", ""))
    return value


def _id_in(value: bytes) -> str | bytes:
    if len(value) != 16:
        return value
    h = value.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _text_out(value: str | None) -> str | bytes | None:
    return None if value is None else _id_out(value)


def _plain_out(value: Any) -> Any:
    """A value of no struct type (text, numbers, an audit entry's detail) with UUIDs as bytes."""
    if isinstance(value, str):
        return _id_out(value)
    if isinstance(value, dict):
        return {k: _plain_out(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_out(v) for v in value]
    return value


def _plain_in(value: Any) -> Any:
    if isinstance(value, bytes):
        return _id_in(value)
    if isinstance(value, dict):
        return {k: _plain_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_in(v) for v in value]
    return value


def _unwrap(hint: Any) -> Any:
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if get_origin(hint) is Union and len(args) == 1 else hint


class _Plan:
    """How one struct type is written and read: its fields' getter and a converter each way."""

    def __init__(self, cls: type[msgspec.Struct]) -> None:
        hints = get_type_hints(cls)
        fields = msgspec.structs.fields(cls)
        self.names = tuple(f.name for f in fields)
        self.get = attrgetter(*self.names)
        self.defaults = tuple(
            f.default_factory() if f.default_factory is not msgspec.NODEFAULT else f.default
            for f in fields
        )
        outs: list[Convert] = []
        ins: list[Convert] = []
        for f in fields:
            hint = _unwrap(hints[f.name])
            item = (get_args(hint) or (None,))[0] if get_origin(hint) is list else None
            if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
                sub = _plan(hint)
                outs.append(lambda v, s=sub: None if v is None else s.to_array(v))
                ins.append(lambda v, s=sub: None if v is None else s.from_array(v))
            elif isinstance(item, type) and issubclass(item, msgspec.Struct):
                sub = _plan(item)
                outs.append(lambda v, s=sub: [s.to_array(x) for x in v])
                ins.append(lambda v, s=sub: [s.from_array(x) for x in v])
            elif hint in (int, bool, float) or get_origin(hint) is Literal:
                outs.append(None)  # as it is: nothing in it can be an id
                ins.append(None)
            elif hint is str:
                outs.append(_text_out)
                ins.append(_plain_in)
            else:
                outs.append(_plain_out)
                ins.append(_plain_in)
        self.outs, self.ins = tuple(outs), tuple(ins)
        self.converted = tuple(n for n, conv in enumerate(outs) if conv is not None)

    def to_array(self, value: msgspec.Struct, keyed: bool = False) -> list[Any]:
        out = list(self.get(value))
        keep = len(out)
        while keep and out[keep - 1] == self.defaults[keep - 1]:
            keep -= 1
        del out[keep:]
        outs = self.outs
        for n in self.converted:
            if n >= keep:
                break
            out[n] = outs[n](out[n])  # type: ignore[misc]
        if keyed and keep and self.names[0] == "id":
            out[0] = None  # the entry's key
        return out

    def from_array(self, values: list[Any]) -> dict[str, Any]:
        found = dict(zip(self.names, values, strict=False))
        for n in self.converted:
            if n >= len(values):
                break
            found[self.names[n]] = self.ins[n](values[n])  # type: ignore[misc]
        return found


@cache
def _plan(cls: type[msgspec.Struct]) -> _Plan:
    return _Plan(cls)


def encode(value: msgspec.Struct) -> bytes:
    """The compact bytes of an entity stored under its id (which is not written again)."""
    return _encoder.encode(_plan(type(value)).to_array(value, keyed=True))


def decode(data: bytes | bytearray | str, type_: type[T], key: str) -> T:
    """The entity stored under ``key`` from its compact bytes (or from the JSON text older
    documents hold).

    Raises msgspec.DecodeError or msgspec.ValidationError for anything else.
    """
    if isinstance(data, str):
        return msgspec.json.decode(data, type=type_)
    values = _decoder.decode(data)
    if not isinstance(values, list):
        raise msgspec.ValidationError(f"expected a compact {type_.__name__}, not {values!r:.40}")
    assert isinstance(type_, type) and issubclass(type_, msgspec.Struct)
    try:
        fields = _plan(type_).from_array(values)
    except (TypeError, AttributeError) as exc:  # a nested value of the wrong shape
        raise msgspec.ValidationError(f"malformed {type_.__name__}: {exc}") from exc
    if "id" in fields:  # an entity: its id is its key
        fields["id"] = key
    return msgspec.convert(fields, type_)

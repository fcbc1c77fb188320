"""The sync protocol between an appliance and the relay: messages, codec and scope rules.

Everything here is pure (no I/O), so the edge, the relay and their tests share one definition.

The relay keeps, per document, an append-only log of Yjs updates, each numbered by a per-document
``seq`` the relay assigns and identified by the blake2b-128 hash of its bytes.

* **Push** (``POST /sync/push``): the appliance sends the updates it made since the last
  acknowledged one, grouped by document. Appending is idempotent: an update whose hash the relay
  already holds is counted as a duplicate and changes nothing, so a push interrupted mid-way is
  simply sent again.
* **Pull** (``POST /sync/pull``): the appliance sends, per document, the highest relay ``seq``
  it has applied (its cursor). The relay answers with the updates after it, at most ``limit`` per
  document, and ``more`` when there are others, so a long absence is caught up in pages and an
  interrupted pull resumes from the last cursor it stored. When the log below the cursor has been
  compacted away, the relay answers with the snapshot (a merged update) first; Yjs updates are
  idempotent, so applying what one already has is harmless.
* **Documents** (``GET /sync/docs``): the documents in the device's scope and the head ``seq``
  of each, so an appliance learns about documents it has never seen and skips those it is
  level with.

Bodies are msgpack; a client may send them deflate-compressed (``Content-Encoding: deflate``) and
the relay inflates them with a size limit.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Annotated, TypeVar

import msgspec

T = TypeVar("T")

# One update: room for a whole document's snapshot (a day document's budget is 5 MB), which an
# appliance pushes when it enrolls with history compacted before it had a relay.
MAX_UPDATE_BYTES = 8 << 20
MAX_BATCH_UPDATES = 1000  # per push or pull page
MAX_BODY_BYTES = 16 << 20  # a whole request, inflated
HASH_BYTES = 16
MAX_STATE_VECTOR_BYTES = 64 << 10  # a client id and a clock per writer: thousands of writers

DocId = Annotated[
    str, msgspec.Meta(min_length=5, max_length=200, pattern=r"^[a-z]+(/[0-9a-zA-Z._-]+)+$")
]
Hash = Annotated[bytes, msgspec.Meta(min_length=HASH_BYTES, max_length=HASH_BYTES)]
Body = Annotated[bytes, msgspec.Meta(min_length=1, max_length=MAX_UPDATE_BYTES)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


def update_hash(body: bytes) -> bytes:
    """The identity of an update: blake2b-128 of its bytes (the edge's log uses the same)."""
    return hashlib.blake2b(body, digest_size=HASH_BYTES).digest()


class Update(msgspec.Struct, frozen=True, kw_only=True):
    hash: Hash
    body: Body


class PushDoc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    doc_id: DocId
    updates: Annotated[list[Update], msgspec.Meta(min_length=1, max_length=MAX_BATCH_UPDATES)]


class PushRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    docs: Annotated[list[PushDoc], msgspec.Meta(min_length=1, max_length=256)]


class PushAck(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    accepted: int  # appended now
    duplicates: int  # already held: nothing changed
    head: int  # the document's highest seq after this push
    # What the relay holds of the document after this push (a Yjs state vector): the appliance
    # checks it covers everything it holds itself.
    state_vector: bytes | None = None


class PushResponse(msgspec.Struct, frozen=True, kw_only=True):
    acks: list[PushAck]


class PullDoc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    doc_id: DocId
    cursor: Seq = 0  # highest relay seq already applied; 0 = nothing yet
    # What the device holds (Yjs state vector): a compacted snapshot it must get is then sent as
    # only the part it lacks, not whole.
    state_vector: Annotated[bytes, msgspec.Meta(max_length=MAX_STATE_VECTOR_BYTES)] | None = None


class PullRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    docs: Annotated[list[PullDoc], msgspec.Meta(min_length=1, max_length=256)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH_UPDATES)] = 500


class PulledDoc(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    snapshot: bytes | None = None  # sent when the log below the cursor was compacted away
    updates: list[Update] = []
    cursor: int  # store this after applying everything above
    more: bool = False  # other updates wait: pull again from ``cursor``
    segments: int = 0  # how many of ``updates`` (the first) are compacted segments, not log rows


class PullResponse(msgspec.Struct, frozen=True, kw_only=True):
    docs: list[PulledDoc]


class DocHead(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    head: int


class DocList(msgspec.Struct, frozen=True, kw_only=True):
    docs: list[DocHead]


class StateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which documents' state vectors the appliance wants (``POST /sync/state``)."""

    doc_ids: Annotated[list[DocId], msgspec.Meta(min_length=1, max_length=256)]


class DocState(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    head: int
    state_vector: bytes  # what the relay holds (an empty vector for a document it never saw)


class StateResponse(msgspec.Struct, frozen=True, kw_only=True):
    docs: list[DocState]


class DocChanged(msgspec.Struct, frozen=True, kw_only=True):
    """A live hint on the relay's WebSocket: pull this document."""

    type: str = "doc.changed"
    doc_id: str
    head: int


# --- codec ---------------------------------------------------------------------------------------

_encoder = msgspec.msgpack.Encoder()


class PayloadTooLarge(ValueError):
    """A body that inflates beyond ``MAX_BODY_BYTES``."""


def encode(message: msgspec.Struct, *, compress: bool = False) -> bytes:
    """The msgpack bytes of a message, deflated when ``compress``."""
    raw = _encoder.encode(message)
    return zlib.compress(raw, 6) if compress else raw


def inflate(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """Inflate a deflate body without ever holding more than ``limit`` bytes of it."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(body, limit)
    if inflater.unconsumed_tail or not inflater.eof:
        raise PayloadTooLarge(f"the body inflates beyond {limit} bytes or is truncated")
    return out


def decode(body: bytes, type_: type[T], *, compressed: bool = False) -> T:
    """A message from its bytes; raises msgspec.ValidationError/DecodeError or PayloadTooLarge."""
    if compressed:
        body = inflate(body)
    elif len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    return msgspec.msgpack.decode(body, type=type_)


def check_hashes(doc: PushDoc) -> list[int]:
    """Positions of updates whose hash does not match their bytes (a client bug or tampering)."""
    return [n for n, u in enumerate(doc.updates) if update_hash(u.body) != u.hash]


# --- state vectors -------------------------------------------------------------------------------
# A Yjs state vector: a count, then (client id, clock) pairs, all unsigned varints. Its byte
# order is not canonical, so vectors are compared decoded.

EMPTY_STATE_VECTOR = b"\x00"


def _varuint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("not a state vector: a number runs past its end")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _put_varuint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def decode_state_vector(data: bytes) -> dict[int, int]:
    """client id -> clock; ValueError for bytes that are not a state vector."""
    count, pos = _varuint(data, 0)
    clocks = {}
    for _ in range(count):
        client, pos = _varuint(data, pos)
        clocks[client], pos = _varuint(data, pos)
    if pos != len(data):
        raise ValueError("not a state vector: bytes left over")
    return clocks


def delete_set_ends(data: bytes) -> dict[int, int]:
    """For each client whose items an update deletes, the clock just past the last one it
    deletes. ``data`` is an update with no structs left (diffed against a state that holds them
    all): the delete set, which follows the structs, then starts after one zero."""
    structs, pos = _varuint(data, 0)
    if structs:
        raise ValueError("the update still holds structs: diff it against a state first")
    clients, pos = _varuint(data, pos)
    ends: dict[int, int] = {}
    for _ in range(clients):
        client, pos = _varuint(data, pos)
        ranges, pos = _varuint(data, pos)
        for _ in range(ranges):
            clock, pos = _varuint(data, pos)
            length, pos = _varuint(data, pos)
            ends[client] = max(ends.get(client, 0), clock + length)
    return ends


def encode_state_vector(clocks: dict[int, int]) -> bytes:
    out = bytearray()
    _put_varuint(out, len(clocks))
    for client, clock in sorted(clocks.items()):
        _put_varuint(out, client)
        _put_varuint(out, clock)
    return bytes(out)


def merge_state_vectors(a: bytes | None, b: bytes) -> bytes:
    """The per-client maximum: both are lower bounds of what one store holds, so is this."""
    if a is None:
        return b
    clocks = decode_state_vector(a)
    for client, clock in decode_state_vector(b).items():
        clocks[client] = max(clock, clocks.get(client, 0))
    return encode_state_vector(clocks)


def lacking(held: bytes, wanted: bytes) -> dict[int, int]:
    """The clients whose updates ``wanted`` has and ``held`` lacks (client -> clock held)."""
    have = decode_state_vector(held)
    return {
        client: have.get(client, 0)
        for client, clock in decode_state_vector(wanted).items()
        if have.get(client, 0) < clock
    }


# --- scope ---------------------------------------------------------------------------------------


def in_scope(doc_id: str, org_id: str, store_id: str) -> bool:
    """Whether a device enrolled for ``store_id`` of ``org_id`` may read and write ``doc_id``.

    Its org's shared documents (catalog, people, customers, loyalty) and its own store's
    documents; never another org's, never another store's.
    """
    parts = doc_id.split("/")
    if len(parts) < 3:
        return False
    if parts[0] == "org":
        return parts[1] == org_id
    if parts[0] == "store":
        return parts[1] == store_id
    return False

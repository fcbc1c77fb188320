"""Sync endpoints for enrolled devices: list documents, push updates, pull updates (msgpack).

A push is refused whole (nothing appended) when any document is out of the device's scope, any
hash does not match its bytes, any body is not a Yjs update, or an update does not integrate
into the relay's shadow of its document (it builds on updates the relay does not hold): every
check runs before the first append. Each document is then appended in its own transaction, with
the state vector of its shadow, so a storage failure part way leaves some documents appended;
the device sends the same push again, and the updates already held count as duplicates.
"""

from __future__ import annotations

import functools
import math
import zlib
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import msgspec
import pycrdt
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide

from cloud.relay import policy
from cloud.relay.routes import device_for, relay_of
from cloud.relay.shadows import Incomplete, Shadow, Unreadable
from cloud.relay.storage import merge
from cloud.relay.storage.base import Device, Storage
from shared.problems import ApiError
from shared.schemas.layout import doc_kind
from shared.schemas.sync import (
    EMPTY_STATE_VECTOR,
    MAX_BODY_BYTES,
    DocHead,
    DocList,
    DocState,
    PayloadTooLarge,
    PulledDoc,
    PullRequest,
    PullResponse,
    PushAck,
    PushDoc,
    PushRequest,
    PushResponse,
    StateRequest,
    StateResponse,
    Update,
    check_hashes,
    decode,
    decode_state_vector,
    encode,
    in_scope,
    update_hash,
)

if TYPE_CHECKING:
    from cloud.relay.app import Relay

M = TypeVar("M")
MSGPACK = "application/x-msgpack"
_MSGPACK_TYPES = {MSGPACK, "application/msgpack", "application/vnd.msgpack"}
PULL_BUDGET_BYTES = 8 << 20  # past this, later documents of a pull answer "more" at their cursor
# Bodies larger than this are decoded and checked on a worker thread: an 8 MB push takes tens of
# milliseconds, which would stall every other device's request on the event loop.
INLINE_BYTES = 64 * 1024


async def current_device(request: Request[Any, Any, Any]) -> Device:
    """The calling device, within its rate limit (429 with Retry-After beyond it)."""
    device = await device_for(request)
    wait_s = relay_of(request).sync_limiter.take(device.id)
    if wait_s:
        raise ApiError(
            429,
            "too-many-requests",
            f"This device is syncing too fast: wait {wait_s:.2f} s and retry.",
            {"Retry-After": str(max(1, math.ceil(wait_s)))},
        )
    return device


def _msgpack(message: msgspec.Struct) -> Response[bytes]:
    return Response(encode(message), status_code=200, media_type=MSGPACK)


async def _read(request: Request[Any, Any, Any], type_: type[M]) -> M:
    """The request body as ``type_``: msgpack, maybe deflated, size-limited; 4xx otherwise."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _MSGPACK_TYPES:
        raise ApiError(415, "unsupported-media-type", f"Send msgpack: 'Content-Type: {MSGPACK}'.")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "deflate"):
        raise ApiError(
            415, "unsupported-media-type", "Only 'Content-Encoding: deflate' is understood."
        )
    body = await request.body()
    compressed = encoding == "deflate"
    try:
        if len(body) <= INLINE_BYTES and not compressed:
            return decode(body, type_)
        return await anyio.to_thread.run_sync(
            functools.partial(decode, compressed=compressed), body, type_
        )
    except PayloadTooLarge as exc:
        if encoding == "deflate" and _truncated(body):
            raise ApiError(400, "malformed-body", "The deflate stream ends early.") from exc
        raise ApiError(413, "payload-too-large", str(exc), limit_bytes=MAX_BODY_BYTES) from exc
    except zlib.error as exc:
        raise ApiError(400, "malformed-body", f"The body is not deflate data: {exc}") from exc
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid-message", f"Invalid {type_.__name__}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed-body", f"The body is not msgpack: {exc}") from exc


def _truncated(body: bytes) -> bool:
    # The shared inflate answers both "too large" and "cut short" alike; tell them apart here.
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(body, MAX_BODY_BYTES)
    except zlib.error:
        return True
    return not inflater.unconsumed_tail and not inflater.eof


def _check_kinds(doc_ids: list[str]) -> None:
    unknown = sorted({d for d in doc_ids if doc_kind(d) is None})
    if unknown:
        raise ApiError(
            422,
            "unknown-document",
            f"No document of this kind exists: {', '.join(unknown[:5])}; nothing was stored.",
            doc_ids=unknown,
        )


def _check_scope(device: Device, doc_ids: list[str]) -> None:
    outside = sorted({d for d in doc_ids if not in_scope(d, device.org_id, device.store_id)})
    if outside:
        raise ApiError(
            403,
            "out-of-scope",
            "This device may only sync its org's shared documents and its own store's; "
            f"refused: {', '.join(outside[:5])}{' ...' if len(outside) > 5 else ''}.",
            doc_ids=outside,
        )


def _bad_updates(message: PushRequest) -> list[dict[str, Any]]:
    """Updates whose bytes are not a Yjs update pycrdt can read (they would break every reader)."""
    bad = []
    for doc in message.docs:
        for n, update in enumerate(doc.updates):
            try:
                pycrdt.get_state(update.body)
            except Exception:
                bad.append({"doc_id": doc.doc_id, "index": n})
            except BaseException as exc:  # pyo3 panics derive from BaseException
                if type(exc).__name__ != "PanicException":
                    raise
                bad.append({"doc_id": doc.doc_id, "index": n})
    return bad


async def _check_push(message: PushRequest) -> None:
    mismatched = [
        {"doc_id": doc.doc_id, "index": n} for doc in message.docs for n in check_hashes(doc)
    ]
    if mismatched:
        raise ApiError(
            422,
            "hash-mismatch",
            "Some updates' hashes do not match their bytes; nothing was "
            "stored. Recompute them (blake2b-128 of the body).",
            updates=mismatched[:100],
        )
    size = sum(len(u.body) for doc in message.docs for u in doc.updates)
    bad = (
        _bad_updates(message)
        if size <= INLINE_BYTES
        else await anyio.to_thread.run_sync(_bad_updates, message)
    )
    if bad:
        raise ApiError(
            422,
            "update-invalid",
            "Some bodies are not Yjs updates; nothing was stored.",
            updates=bad[:100],
        )


@get("/docs", tags=["sync"])
async def docs(request: Request[Any, Any, Any], device: NamedDependency[Device]) -> Response[bytes]:
    """The documents in the device's scope with their head seq (DocList, msgpack)."""
    prefixes = [f"org/{device.org_id}/", f"store/{device.store_id}/"]
    heads = await relay_of(request).storage.heads(prefixes)
    return _msgpack(DocList(docs=heads))


@post("/push", status_code=200, tags=["sync"])
async def push(request: Request[Any, Any, Any], device: NamedDependency[Device]) -> Response[bytes]:
    """Append updates (PushRequest -> PushResponse); idempotent by hash, refused whole if bad."""
    relay = relay_of(request)
    try:
        message = await _read(request, PushRequest)
        _check_scope(device, [doc.doc_id for doc in message.docs])
        _check_kinds([doc.doc_id for doc in message.docs])
        await _check_push(message)
        async with AsyncExitStack() as stack:
            shadows = [
                await stack.enter_async_context(relay.shadows.use(doc.doc_id))
                for doc in _one_per_doc(message)
            ]
            await _admit_all(relay, shadows, message, device)
            acks = await _append_all(relay.storage, shadows, message, relay.clock())
    except ApiError:
        relay.counters.rejected_pushes += 1
        raise
    relay.counters.pushes += 1
    for ack in acks:
        relay.counters.updates_appended += ack.accepted
        relay.counters.duplicates += ack.duplicates
    changed = [DocHead(doc_id=a.doc_id, head=a.head) for a in acks if a.accepted]
    if changed:
        await relay.fanout.publish(changed, device.id)
    return _msgpack(PushResponse(acks=acks))


def _one_per_doc(message: PushRequest) -> list[PushDoc]:
    """The push's documents, refused when one is named twice (its shadow would be locked twice),
    in id order, so two pushes naming the same documents lock them in the same order."""
    ids = [doc.doc_id for doc in message.docs]
    if len(set(ids)) != len(ids):
        raise ApiError(400, "invalid-message", "A push names each document once.")
    return sorted(message.docs, key=lambda doc: doc.doc_id)


async def _admit_all(
    relay: Relay, held: list[Shadow], message: PushRequest, device: Device
) -> None:
    """Apply each document's updates to its shadow and check what they changed (policy)."""
    by_id = {doc.doc_id: doc for doc in message.docs}
    owner_ids: frozenset[str] = frozenset()
    if any(doc_kind(shadow.doc_id) == "people" for shadow in held):
        owner_ids = frozenset(o.id for o in await relay.storage.list_owners(device.org_id))
    for shadow in held:
        try:
            before = decode_state_vector(shadow.doc.get_state())
            with policy.watching(shadow.doc, shadow.doc_id) as watch:
                await relay.shadows.admit(shadow, by_id[shadow.doc_id].updates)
            policy.check(
                shadow.doc, shadow.doc_id, watch, device.store_id, relay.clock(), owner_ids
            )
            await _claim_clients(relay, shadow, before, device)
        except policy.Refused as exc:
            raise ApiError(
                exc.status,
                exc.code,
                f"{exc}; nothing was stored.",
                doc_id=exc.doc_id,
                collection=exc.root,
                key=exc.key,
            ) from exc
        except RecursionError as exc:  # a value nested past any reader's depth
            detail = f"{shadow.doc_id}: a value is nested too deep to read; nothing was stored."
            raise ApiError(422, "entity-invalid", detail, doc_id=shadow.doc_id) from exc
        except Unreadable as exc:
            raise ApiError(
                422, "update-invalid", f"{exc}: nothing was stored.", doc_id=exc.doc_id,
                index=exc.index,
            ) from exc  # fmt: skip
        except Incomplete as exc:
            raise ApiError(
                422,
                "update-incomplete",
                f"{exc}: nothing was stored. Push what the relay lacks (compare its state"
                " vector from POST /api/v1/sync/state) before this.",
                doc_id=exc.doc_id,
                index=exc.index,
            ) from exc


async def _claim_clients(
    relay: Relay, shadow: Shadow, before: dict[int, int], device: Device
) -> None:
    """A store writes a shared document only under Yjs client ids no other store claimed
    (cloud.relay.storage.clients); its own day, settings and PIN documents have no other writer."""
    if not shadow.doc_id.startswith("org/"):
        return
    after = decode_state_vector(shadow.doc.get_state())
    written = [c for c, clock in after.items() if clock > before.get(c, 0)]
    if not written:
        return
    claims = await relay.storage.claim_clients(shadow.doc_id, device.store_id, written)
    taken = sorted(c for c, writer in claims.items() if writer != device.store_id)
    if taken:
        raise ApiError(
            403,
            "client-id-taken",
            f"{shadow.doc_id}: Yjs client id {taken[0]} writes for another store; a replica"
            " writes only under its own client ids; nothing was stored.",
            doc_id=shadow.doc_id,
        )


async def _append_all(
    storage: Storage, held: list[Shadow], message: PushRequest, at_ms: int
) -> list[PushAck]:
    by_id = {shadow.doc_id: shadow for shadow in held}
    acks = []
    for doc in message.docs:
        shadow = by_id[doc.doc_id]
        ack = await storage.append(doc.doc_id, doc.updates, at_ms, shadow.state_vector())
        shadow.follow(ack)
        acks.append(ack)
    return acks


@post("/pull", status_code=200, tags=["sync"])
async def pull(request: Request[Any, Any, Any], device: NamedDependency[Device]) -> Response[bytes]:
    """Updates after each cursor (PullRequest -> PullResponse), in pages of ``limit``."""
    relay = relay_of(request)
    message = await _read(request, PullRequest)
    _check_scope(device, [doc.doc_id for doc in message.docs])
    answered: list[PulledDoc] = []
    size = 0
    for doc in message.docs:
        if size > PULL_BUDGET_BYTES:
            # The answer is big enough: the device pulls these again from the same cursor.
            answered.append(PulledDoc(doc_id=doc.doc_id, cursor=doc.cursor, more=True))
            continue
        pulled = await relay.storage.pull(doc.doc_id, doc.cursor, message.limit)
        if pulled.segments and doc.state_vector is not None:
            pulled = await _only_missing(pulled, doc.state_vector)
        size += len(pulled.snapshot or b"") + sum(len(u.body) for u in pulled.updates)
        answered.append(pulled)
    relay.counters.pulls += 1
    return _msgpack(PullResponse(docs=answered))


async def _only_missing(pulled: PulledDoc, state_vector: bytes) -> PulledDoc:
    """The pulled page with its segments cut to what the device lacks (off the event loop: a
    segment takes a millisecond or so to diff)."""

    def cut(body: bytes) -> Update:
        missing = merge.missing_from(body, state_vector)
        return Update(hash=update_hash(missing), body=missing)

    segments = pulled.updates[: pulled.segments]
    try:
        cuts = await anyio.to_thread.run_sync(lambda: [cut(u.body) for u in segments])
    except ValueError as exc:
        raise ApiError(422, "invalid-state-vector", str(exc)) from exc
    return msgspec.structs.replace(pulled, updates=cuts + pulled.updates[pulled.segments :])


@post("/state", status_code=200, tags=["sync"])
async def state(
    request: Request[Any, Any, Any], device: NamedDependency[Device]
) -> Response[bytes]:
    """What the relay holds of each document (StateRequest -> StateResponse): its head and state
    vector, for an appliance to check that nothing it wrote is missing here."""
    relay = relay_of(request)
    message = await _read(request, StateRequest)
    _check_scope(device, message.doc_ids)
    stored = await relay.storage.state_vectors(message.doc_ids)
    answered = []
    for doc_id in message.doc_ids:
        head, vector = stored.get(doc_id, (0, EMPTY_STATE_VECTOR))
        if vector is None:  # stored before the relay kept state vectors: its shadow knows
            async with relay.shadows.use(doc_id) as shadow:
                head, vector = shadow.head, shadow.state_vector()
        answered.append(DocState(doc_id=doc_id, head=head, state_vector=vector))
    return _msgpack(StateResponse(docs=answered))


router = Router(
    path="/api/v1/sync",
    route_handlers=[docs, push, pull, state],
    dependencies={"device": Provide(current_device)},
    # Sync bodies are far larger than the owner API's; inflated size is limited by the codec.
    request_max_body_size=MAX_BODY_BYTES,
)

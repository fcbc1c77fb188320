"""The owner API: password login, an org's stores, and enrollment codes for them (plain, or
replacing the store's appliance)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import anyio.to_thread
import jwt
import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from cloud.relay.routes import bearer, relay_of, unauthorized
from cloud.relay.routes.enroll import EnrollmentCode, issue_code
from cloud.relay.storage.base import NotFound, Store
from shared.credentials import decode_jwt, encode_jwt, verify_secret
from shared.ids import uuid7
from shared.problems import ApiError
from shared.throttle import Backoff, retry_after_s

OWNER_TOKEN_TYPE = "owner"
OWNER_BACKOFF = Backoff()  # five free failures, then 1 s, 2 s, 4 s ... up to 15 min


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OwnerToken(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    owner_id: str
    org_id: str


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The owner behind a request, from the claims of their access token."""

    owner_id: str
    org_id: str


class StoreRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class CodeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``replace``: the code retires the store's active appliance when redeemed."""

    replace: bool = False


class NewStore(msgspec.Struct, frozen=True, kw_only=True):
    store: Store
    enrollment_code: EnrollmentCode


async def current_owner(request: Request[Any, Any, Any]) -> Principal:
    """The owner whose access token the request carries; 401 otherwise."""
    token = bearer(request)
    if not token:
        raise unauthorized("Log in first: send 'Authorization: Bearer <access token>'.")
    try:
        claims = decode_jwt(relay_of(request).jwt_key, token)
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(
            401,
            "token-expired",
            "The access token has expired: log in again.",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise unauthorized("The access token is not valid here: log in again.") from exc
    if claims.get("typ") != OWNER_TOKEN_TYPE or not isinstance(claims.get("org"), str):
        raise unauthorized("Use an owner's access token from POST /api/v1/auth/login.")
    return Principal(owner_id=str(claims["sub"]), org_id=claims["org"])


def _own_org(owner: Principal, org_id: str) -> None:
    if org_id != owner.org_id:
        raise ApiError(403, "forbidden", "That is not your organisation.", org_id=org_id)


async def _own_store(request: Request[Any, Any, Any], owner: Principal, store_id: str) -> Store:
    """The store if it belongs to the owner's org; unknown and foreign stores answer the same."""
    try:
        store = await relay_of(request).storage.get_store(store_id)
    except NotFound:
        store = None
    if store is None or store.org_id != owner.org_id:
        raise ApiError(
            403, "forbidden", "That is not a store of your organisation.", store_id=store_id
        )
    return store


@post("/auth/login", status_code=200, tags=["owner"])
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginRequest]) -> OwnerToken:
    """An owner's password login; answers an access token for the owner API. After five wrong
    passwords for one account from one address, each further try from there waits twice as long
    as the one before (429 with Retry-After); other addresses are not slowed."""
    relay = relay_of(request)
    email = data.email.strip().lower()
    client = request.client.host if request.client else "?"
    # A flood of tries, right or wrong, is cut short first (per address and email, so it never
    # holds up the owner's own logins from elsewhere).
    wait_s = relay.login_limiter.take(f"{client} {email}")
    if wait_s:
        raise ApiError(
            429,
            "too-many-requests",
            "Too many login attempts for this email from here: wait and retry.",
            {"Retry-After": str(math.ceil(wait_s))},
        )
    # Failures count per account *and* address, reserved before the check and kept in storage
    # (cloud.relay.storage.logins): guessing one owner's password from one place gets slower
    # and slower, while a stranger's guesses from elsewhere never keep the owner out.
    key = f"{email}|{client}"
    wait_ms = await relay.storage.take_login(key, relay.clock(), OWNER_BACKOFF)
    if wait_ms:
        retry = retry_after_s(wait_ms)
        raise ApiError(
            429,
            "too-many-requests",
            f"Too many wrong passwords from here: wait {retry} s before the next try.",
            {"Retry-After": retry},
        )
    owner = await relay.storage.owner_by_email(email)
    stored = owner.password_hash if owner else None
    # Argon2 takes tens of milliseconds of CPU: off the event loop, so sync keeps flowing.
    if not await anyio.to_thread.run_sync(verify_secret, stored, data.password) or not owner:
        raise ApiError(401, "login-failed", "Wrong email or password.")
    await relay.storage.undo_login(key)  # a success is no failure; earlier failures stand
    now_s = relay.clock() // 1000
    ttl_s = relay.config.owner_access_ttl_s
    claims = {
        "sub": owner.id,
        "org": owner.org_id,
        "typ": OWNER_TOKEN_TYPE,
        "iat": now_s,
        "exp": now_s + ttl_s,
        "jti": uuid7(),
    }
    return OwnerToken(
        access_token=encode_jwt(relay.jwt_key, claims),
        expires_in=ttl_s,
        owner_id=owner.id,
        org_id=owner.org_id,
    )


@get("/orgs/{org_id:str}/stores", tags=["owner"])
async def list_stores(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], org_id: FromPath[str]
) -> list[Store]:
    """The stores of the owner's organisation."""
    _own_org(owner, org_id)
    return await relay_of(request).storage.list_stores(org_id)


@post("/orgs/{org_id:str}/stores", status_code=201, tags=["owner"])
async def create_store(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    org_id: FromPath[str],
    data: JSONBody[StoreRequest],
) -> NewStore:
    """A new store, with the one-time code its appliance enrolls with (shown only now)."""
    _own_org(owner, org_id)
    relay = relay_of(request)
    now = relay.clock()
    store = await relay.storage.create_store(uuid7(), org_id, data.name.strip() or data.name, now)
    code = await issue_code(relay.storage, store.id, now, relay.config.enrollment_code_ttl_s)
    return NewStore(store=store, enrollment_code=code)


@post("/stores/{store_id:str}/enrollment-codes", status_code=201, tags=["owner"])
async def create_enrollment_code(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    store_id: FromPath[str],
    data: JSONBody[CodeRequest | None] = None,
) -> EnrollmentCode:
    """Another one-time enrollment code for a store. A store has one active appliance: a plain
    code enrolls one only while it has none; send ``{"replace": true}`` for a code that retires
    the active one (its credential is revoked the moment the new appliance enrolls)."""
    store = await _own_store(request, owner, store_id)
    relay = relay_of(request)
    return await issue_code(
        relay.storage,
        store.id,
        relay.clock(),
        relay.config.enrollment_code_ttl_s,
        replace=data is not None and data.replace,
    )


router = Router(
    path="/api/v1",
    route_handlers=[login, list_stores, create_store, create_enrollment_code],
    dependencies={"owner": Provide(current_owner)},
)

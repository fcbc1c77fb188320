"""The ``fynlo-relay`` command: serve, org create, store create, enrollment-code, device list,
device revoke, entry list, entry remove.

The administrative commands open the storage directly (the same SQLite file a running server
uses is fine: SQLite serialises the writers), so the first org exists before any owner can log in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from cloud.relay.config import ConfigError, RelayConfig, open_storage
from cloud.relay.documents import Documents, new_client_id
from cloud.relay.entries import EntryMissing, of_org, org_documents, remove, unreadable
from cloud.relay.routes.enroll import issue_code
from cloud.relay.shadows import Shadows
from cloud.relay.storage.base import Storage, StorageError
from shared import cli_help
from shared.credentials import hash_secret
from shared.datadir import restrict_new_files
from shared.ids import now_ms, uuid7
from shared.logs import configure as configure_logs

MIN_PASSWORD_CHARS = 10


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, required=True, help="data directory (relay.db, keys, logs)"
    )
    parser.add_argument(
        "--database",
        default=None,
        help="a postgresql:// URL to use instead of SQLite in the data directory",
    )


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    """A subcommand whose own --help says what it does, as the listing above it does."""
    return commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")


def build_parser() -> argparse.ArgumentParser:
    parser = cli_help.parser(
        "fynlo-relay",
        "Fynlo cloud relay: enrollment, document sync and the owner API.",
        RelayConfig,
        "FYNLO_RELAY_",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(commands, "serve", "run the relay's API on HOST:PORT")
    _common(serve)
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8090)")

    org = commands.add_parser("org", help="organisations").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    org_create = _command(
        org, "create", "create an organisation and its owner's login; prints the org id"
    )
    _common(org_create)
    org_create.add_argument("--name", required=True, help="the organisation's name")
    org_create.add_argument("--owner-email", required=True, help="the owner's login email")
    org_create.add_argument(
        "--owner-password",
        required=True,
        help=f"the owner's password (at least {MIN_PASSWORD_CHARS} characters)",
    )

    store = commands.add_parser("store", help="stores").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    store_create = _command(
        store, "create", "create a store; prints its id, then a one-time enrollment code"
    )
    _common(store_create)
    store_create.add_argument("--org", required=True, help="the id of the store's organisation")
    store_create.add_argument("--name", required=True, help="the store's name")

    code = _command(
        commands, "enrollment-code", "print a new one-time enrollment code for a store (24 h)"
    )
    _common(code)
    code.add_argument("--store", required=True, help="the id of the store to enroll into")
    code.add_argument(
        "--replace",
        action="store_true",
        help="a replacement code: enrolling with it revokes the store's active appliance"
        " (without it, the code enrolls only a store that has none)",
    )

    device = commands.add_parser("device", help="enrolled appliances").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    device_list = _command(
        device, "list", "list an organisation's appliances, one a line, revoked ones too"
    )
    _common(device_list)
    device_list.add_argument("--org", required=True, help="the id of the organisation")
    device_list.add_argument("--store", default=None, help="only this store's appliances")
    revoke = _command(
        device, "revoke", "revoke an appliance's credential: its sync is refused from then on"
    )
    _common(revoke)
    revoke.add_argument("--device", required=True, help="the id of the appliance (device list)")

    entry = commands.add_parser(
        "entry", help="entries of documents that no replica can read"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    entry_list = _command(
        entry,
        "list",
        "list the entries of an organisation's documents (but its days) that no replica can"
        " read, one a line: document, root, key ('' a whole root), what is wrong",
    )
    _common(entry_list)
    entry_list.add_argument("--org", required=True, help="the id of the organisation")
    entry_list.add_argument("--doc", default=None, help="only this document (a day's, too)")
    entry_remove = _command(
        entry,
        "remove",
        "remove an entry of a document of an organisation, for every replica (it deletes"
        " whatever it names, readable or not)",
    )
    _common(entry_remove)
    entry_remove.add_argument("--org", required=True, help="the id of the organisation")
    entry_remove.add_argument("--doc", required=True, help="the document, e.g. org/ORG/catalog")
    entry_remove.add_argument("--collection", required=True, help="its root map, e.g. items")
    entry_remove.add_argument(
        "--key",
        default=None,
        help="the entity (of a flat root such as settings, every cell of that value); without"
        " it, every entry of the root",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 2 (with a message on stderr) when it cannot do what was asked."""
    args = build_parser().parse_args(argv)
    restrict_new_files()  # the database and the signing key: the owner's only
    name = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
    try:
        config = RelayConfig.load(
            args.data,
            database=args.database,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
        if name == "serve":
            return _serve(config)
        return asyncio.run(_with_storage(config, _COMMANDS[name], args))
    except (ConfigError, StorageError, CommandError) as exc:
        print(f"fynlo-relay: {exc}", file=sys.stderr)
        return 2


class CommandError(Exception):
    """A command that cannot do what was asked (a short password, an email already used)."""


async def _with_storage(
    config: RelayConfig,
    command: Callable[[Storage, RelayConfig, argparse.Namespace], Awaitable[None]],
    args: argparse.Namespace,
) -> int:
    async with open_storage(config) as storage:
        await command(storage, config, args)
    return 0


async def _org_create(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    email = args.owner_email.strip().lower()
    if "@" not in email:
        raise CommandError(f"{args.owner_email!r} is not an email address")
    if len(args.owner_password) < MIN_PASSWORD_CHARS:
        raise CommandError(f"the owner's password needs at least {MIN_PASSWORD_CHARS} characters")
    # Checked before the org is made, so a taken email leaves no owner-less org behind.
    if await storage.owner_by_email(email) is not None:
        raise CommandError(f"an owner with the email {email} exists already")
    password_hash = await asyncio.to_thread(hash_secret, args.owner_password)
    at = now_ms()
    org = await storage.create_org(uuid7(), args.name.strip(), at)
    # No PIN secret is minted for the org: each store's appliance mints its own PIN key
    # (shared.schemas.documents.StorePin), so no store can work out another's PINs.
    await storage.create_owner(uuid7(), org.id, email, password_hash, at)
    print(org.id)


async def _store_create(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    at = now_ms()
    await storage.get_org(args.org)  # NotFound names the org rather than failing deeper
    store = await storage.create_store(uuid7(), args.org, args.name.strip(), at)
    code = await issue_code(storage, store.id, at, config.enrollment_code_ttl_s)
    print(store.id)
    print(code.code)


async def _enrollment_code(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    store = await storage.get_store(args.store)
    ttl_s = config.enrollment_code_ttl_s
    code = await issue_code(storage, store.id, now_ms(), ttl_s, replace=args.replace)
    print(code.code)


async def _device_list(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    await storage.get_org(args.org)  # an unknown org is an error, not an empty list
    for device in await storage.list_devices(args.org, args.store):
        revoked = device.revoked_at_ms
        state = "active" if revoked is None else f"revoked {_time(revoked)}"
        fields = (device.id, device.store_id, device.name, _time(device.enrolled_at_ms), state)
        print("\t".join(fields))


async def _device_revoke(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    await storage.revoke_device(args.device, now_ms())
    device = await storage.get_device(args.device)
    print(f"revoked {device.id} ({device.name}) of store {device.store_id}")


async def _entry_list(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    await storage.get_org(args.org)
    doc_ids = (
        [await _org_doc(storage, args)] if args.doc else await org_documents(storage, args.org)
    )
    documents = Documents(storage, Shadows(storage, new_client_id()), now_ms)
    for doc_id in doc_ids:
        for entry in await documents.read(doc_id, lambda doc, d=doc_id: unreadable(d, doc)):
            print("\t".join((entry.doc_id, entry.collection, entry.key, entry.error)))


async def _entry_remove(storage: Storage, config: RelayConfig, args: argparse.Namespace) -> None:
    await storage.get_org(args.org)
    doc_id = await _org_doc(storage, args)
    documents = Documents(storage, Shadows(storage, new_client_id()), now_ms)
    try:
        edited = await documents.edit(doc_id, remove(args.collection, args.key), by="fynlo-relay")
    except EntryMissing as exc:
        raise CommandError(str(exc)) from exc
    # Appliances hear of it at their next sync round (no running server is told to hint them).
    key = args.key if args.key is not None else "*"
    print(f"removed {args.collection}/{key} from {doc_id} ({edited.result} key(s))")


async def _org_doc(storage: Storage, args: argparse.Namespace) -> str:
    if not await of_org(storage, args.org, args.doc):
        raise CommandError(f"{args.doc} is not a document of organisation {args.org}")
    return str(args.doc)


def _time(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="seconds")


_COMMANDS = {
    "org create": _org_create,
    "store create": _store_create,
    "enrollment-code": _enrollment_code,
    "device list": _device_list,
    "device revoke": _device_revoke,
    "entry list": _entry_list,
    "entry remove": _entry_remove,
}


def _serve(config: RelayConfig) -> int:
    import uvicorn

    from cloud.relay.app import Relay, create_app

    configure_logs(config.log_level)
    base = f"http://{config.host}:{config.port}"

    def announce() -> None:
        line = {"event": "serving", "url": base, "docs": f"{base}/schema"}
        print(json.dumps(line), flush=True)

    app = create_app(Relay.build(config), on_ready=announce)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``fynlo-edge`` command: init, serve, rebuild, pairing-code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.app.bootstrap import initialise, open_edge
from edge.app.config import EdgeConfig
from edge.app.process import tune_gc
from edge.store.db import connect, db_path
from edge.store.errors import StoreError
from edge.store.lock import exclusive
from edge.store.migrations import migrate
from edge.store.rebuild import rebuild
from shared import cli_help
from shared.datadir import restrict_new_files
from shared.ids import now_ms
from shared.logs import configure as configure_logs


def _data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, required=True, help="data directory (SQLite files, keys, logs)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = cli_help.parser(
        "fynlo-edge", "Fynlo store appliance: the local POS back end.", EdgeConfig, "FYNLO_"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create a store in a data directory")
    _data(init)
    init.add_argument("--demo", action="store_true", help="load the demo café (menu and staff)")
    init.add_argument(
        "--if-missing", action="store_true", help="do nothing when the store already exists"
    )

    serve = commands.add_parser(
        "serve",
        help="run the appliance's API on HOST:PORT (with no store yet: its setup page)",
    )
    _data(serve)
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")

    rb = commands.add_parser("rebuild", help="recompute every projection from the document log")
    _data(rb)

    code = commands.add_parser("pairing-code", help="print a one-time code to pair a tablet")
    _data(code)

    enroll = commands.add_parser(
        "enroll", help="link this appliance to the relay with a one-time enrollment code"
    )
    _data(enroll)
    enroll.add_argument(
        "--relay", required=True, help="the relay's URL, e.g. https://relay.example"
    )
    enroll.add_argument("--code", required=True, help="the store's one-time enrollment code")
    enroll.add_argument("--name", default="appliance", help="what the relay calls this appliance")
    enroll.add_argument(
        "--demo",
        action="store_true",
        help="a new store: load the demo café unless the org has staff",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    restrict_new_files()  # the store, its keys and the relay credential: the owner's only
    try:
        return _COMMANDS[args.command](args)
    except StoreError as exc:
        print(f"fynlo-edge: {exc}", file=sys.stderr)
        return 2


def _init(args: argparse.Namespace) -> int:
    if db_path(args.data).exists():
        if args.if_missing:
            print(f"store already initialised in {args.data}")
            return 0
        print(f"fynlo-edge: {args.data} already holds a store", file=sys.stderr)
        return 2
    logins = initialise(args.data, demo=args.demo)
    print(f"initialised store in {args.data}")
    for login in logins:
        print(f"  {login}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    config = EdgeConfig.load(args.data, host=args.host, port=args.port)
    configure_logs(config.log_level)
    with exclusive(config.data_dir, "serve it again"):
        return _run_server(config)


def _run_server(config: EdgeConfig) -> int:
    import uvicorn

    from edge.app.app import create_app

    if not db_path(config.data_dir).exists() and not _set_up(config):
        return 0  # stopped before anyone enrolled it
    edge = open_edge(config)
    app = create_app(edge)
    base = f"http://{config.host}:{config.port}"
    print(
        json.dumps(
            {"event": "serving", "url": base, "docs": f"{base}/schema", "store_id": edge.store_id}
        ),
        flush=True,
    )
    tune_gc()
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False)
    return 0


def _set_up(config: EdgeConfig) -> bool:
    """Serve the setup page until the appliance is enrolled; whether a store exists now."""
    import uvicorn

    from edge.app.setup.routes import create_setup_app

    def enrolled() -> None:
        server.should_exit = True  # uvicorn finishes the answer, then returns from run()

    app = create_setup_app(config.data_dir, config.pairing_code_ttl_s, enrolled)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=config.host, port=config.port, log_level="warning", access_log=False
        )
    )
    base = f"http://{config.host}:{config.port}"
    print(json.dumps({"event": "setup", "url": f"{base}/setup"}), flush=True)
    server.run()
    return db_path(config.data_dir).exists()


def _rebuild(args: argparse.Namespace) -> int:
    path = db_path(args.data)
    if not path.exists():
        print(f"fynlo-edge: no store in {args.data}", file=sys.stderr)
        return 2
    with exclusive(args.data, "rebuild it"):
        conn = connect(path, writer=True)
        try:
            migrate(conn)
            count = rebuild(conn)
        finally:
            conn.close()
    print(f"rebuilt projections from {count} document entries")
    return 0


def _pairing_code(args: argparse.Namespace) -> int:
    from edge.app.auth.service import issue_pairing_code_offline

    if not db_path(args.data).exists():
        print(f"fynlo-edge: no store in {args.data}", file=sys.stderr)
        return 2
    config = EdgeConfig.load(args.data)
    print(issue_pairing_code_offline(args.data, now_ms(), config.pairing_code_ttl_s).code)
    return 0


def _enroll(args: argparse.Namespace) -> int:
    from edge.app.enrollment import enroll_appliance
    from edge.sync.errors import SyncError

    try:
        _, lines = enroll_appliance(args.data, args.relay, args.code, args.name, demo=args.demo)
    except SyncError as exc:
        print(f"fynlo-edge: enrollment failed: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


_COMMANDS = {
    "init": _init,
    "serve": _serve,
    "rebuild": _rebuild,
    "pairing-code": _pairing_code,
    "enroll": _enroll,
}

if __name__ == "__main__":
    sys.exit(main())

"""The ``homelab-hub`` command: serve, init, token, doctor, claude-setup, plus the
subcommands each area registers from ``server/cli_<area>.py``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from homelab_hub import __version__
from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import HubError
from homelab_hub.server.cli_options import config_option
from homelab_hub.server.components import COMPONENTS
from homelab_hub.server.lifecycle import build_services, close_services
from homelab_hub.server.session_store import SessionStore
from homelab_hub.server.token_store import TokenStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homelab-hub",
        description="The always-on hub that AI agents operate a home lab through (MCP + REST).",
    )
    parser.add_argument("--version", action="version", version=f"homelab-hub {__version__}")
    config_option(parser, top=True)
    # Commands of engines' own CLI modules build the hub through these: those modules are
    # imported by the component list, so they must not import its life cycle back.
    parser.set_defaults(build_services=build_services, close_services=close_services)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the hub (MCP at /mcp and /sse, REST at /api)")
    config_option(serve, top=False)
    serve.add_argument("--host", help="bind address (default from config: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config: 8042)")
    serve.set_defaults(func=cmd_serve)

    init = sub.add_parser("init", help="write a commented example config with every setting and its default")
    init.add_argument(
        "--path", default="homelab-hub.toml", help="where to write it (default ./homelab-hub.toml)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init)

    token = sub.add_parser("token", help="manage API tokens (create, list, revoke)")
    config_option(token, top=False)
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="create a token for agent NAME; prints it alone on the last line")
    config_option(create, top=False)
    create.add_argument("name", help="agent name the token acts as, e.g. claude")
    create.add_argument(
        "--admin", action="store_true", help="admin role: may act across agents and restart services"
    )
    create.set_defaults(func=cmd_token_create)
    listing = tsub.add_parser("list", help="list tokens (names and roles; never the tokens)")
    config_option(listing, top=False)
    listing.set_defaults(func=cmd_token_list)
    revoke = tsub.add_parser(
        "revoke", help="revoke agent NAME's tokens; a running hub refuses them within seconds"
    )
    config_option(revoke, top=False)
    revoke.add_argument("name", help="agent name the tokens act as, as shown by `token list`")
    revoke.set_defaults(func=cmd_token_revoke)

    session = sub.add_parser("session", help="browser sessions made on /login (list, revoke)")
    config_option(session, top=False)
    ssub = session.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    slist = ssub.add_parser("list", help="live browser sessions: handle, agent, role, expiry (never the ids)")
    config_option(slist, top=False)
    slist.set_defaults(func=cmd_session_list)
    srevoke = ssub.add_parser("revoke", help="end browser sessions: one by handle, an agent's, or all")
    config_option(srevoke, top=False)
    which = srevoke.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "handle", nargs="?", help="the session's handle from `session list` (a prefix will do)"
    )
    which.add_argument("--agent", help="every session of this agent")
    which.add_argument("--all", action="store_true", help="every live session")
    srevoke.set_defaults(func=cmd_session_revoke)

    doctor = sub.add_parser(
        "doctor", help="check config, database, model files and dependencies; say how to fix"
    )
    config_option(doctor, top=False)
    doctor.set_defaults(func=cmd_doctor)

    setup = sub.add_parser("claude-setup", help="print the `claude mcp add` commands for this hub")
    config_option(setup, top=False)
    setup.add_argument("--name", default="homelab-hub", help="MCP server name in Claude Code")
    setup.set_defaults(func=cmd_claude_setup)

    for component in COMPONENTS:
        if component.register_cli is not None:
            component.register_cli(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything the hub writes (database, logs, indexes, images, a config with secrets) is
    # for its owner only: 0600 files, 0700 directories.
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HubError as exc:
        print(f"homelab-hub: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- commands ---------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from homelab_hub.server.app import create_app
    from homelab_hub.server.logs import setup_logging
    from homelab_hub.server.serving import check_bind, uvicorn_config

    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    config = load_config(args.config, **({"server": overrides} if overrides else {}))
    setup_logging(config)
    check_bind(config, _token_store(args, config).any_live())
    _private_dir(config.server.data_dir)
    app = create_app(config, config_path=args.config)
    server = uvicorn.Server(uvicorn_config(app, config))
    server.run()
    # uvicorn reports a failed start (lifespan error) through its exit flag.
    return 0 if server.started else 1


def _private_dir(path: Path) -> None:
    """The data directory, created 0700 (and tightened to it if it was more open)."""
    path.mkdir(parents=True, mode=0o700, exist_ok=True)
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError:  # not ours: the operator chose its mode
            pass


def cmd_init(args: argparse.Namespace) -> int:
    from homelab_hub.config_docs import example_toml

    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"homelab-hub: {path} exists; use --force to overwrite", file=sys.stderr)
        return 1
    path.write_text(example_toml(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


def _token_store(args: argparse.Namespace, config: HubConfig | None = None) -> TokenStore:
    from homelab_hub.server.components import all_migrations
    from homelab_hub.store import Database, migrate

    config = config or load_config(args.config)
    db = Database.from_url(config.storage.url)
    migrate(db, all_migrations())
    return TokenStore(db)


def cmd_token_create(args: argparse.Namespace) -> int:
    store = _token_store(args)
    token = store.create(args.name, admin=args.admin)
    role = "admin" if args.admin else "agent"
    print(f"created {role} token for agent {args.name!r}; it is shown once, store it now:")
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    import datetime as dt

    store = _token_store(args)
    tokens = store.list()
    if not tokens:
        print("no tokens: the hub serves loopback only, as agent 'local'")
    for t in tokens:
        created = dt.datetime.fromtimestamp(t.created_at).isoformat(timespec="seconds")
        state = "revoked" if t.revoked_at else "live"
        print(f"{t.name:24} {t.role:6} {state:8} created {created}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    count = _token_store(args).revoke(args.name)
    print(f"revoked {count} token(s) of {args.name!r}; the hub stops accepting them within seconds")
    return 0


def _session_store(args: argparse.Namespace) -> SessionStore:
    return SessionStore(_token_store(args).db)


def cmd_session_list(args: argparse.Namespace) -> int:
    import datetime as dt

    sessions = _session_store(args).live()
    if not sessions:
        print("no live browser sessions")
    for s in sessions:
        expires = dt.datetime.fromtimestamp(s.expires_at).isoformat(timespec="minutes")
        created = dt.datetime.fromtimestamp(s.created_at).isoformat(timespec="minutes")
        print(
            f"{s.handle}  {s.identity.agent:20} {s.identity.role:6} created {created}  expires {expires}  {s.user_agent[:40]}"
        )
    return 0


def cmd_session_revoke(args: argparse.Namespace) -> int:
    if args.handle is not None and len(args.handle) < 6:
        print("homelab-hub: give at least 6 characters of the handle", file=sys.stderr)
        return 1
    count = _session_store(args).revoke_matching(handle=args.handle, agent=args.agent)
    print(f"revoked {count} browser session(s); the hub drops them within seconds")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from homelab_hub.server.doctor import run_doctor

    return run_doctor(args.config)


def public_url(config: HubConfig) -> str:
    if config.server.public_url:
        return config.server.public_url.rstrip("/")
    host = config.server.host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.server.port}"


def cmd_claude_setup(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    url = public_url(config)
    header = '--header "Authorization: Bearer ${HOMELAB_HUB_TOKEN}"'
    print("# Create a token first:  homelab-hub token create claude   then: export HOMELAB_HUB_TOKEN=<token>")
    print("# Streamable HTTP (preferred):")
    print(f"claude mcp add --transport http {args.name} {url}/mcp {header}")
    print("# SSE (older clients):")
    print(f"claude mcp add --transport sse {args.name}-sse {url}/sse {header}")
    print("# Check:  claude mcp list")
    print("# Memory belongs to the token's agent: the agent named in `token create` (here claude) sees only")
    print("# its own memories. `homelab-hub memory import` writes as agent local (callers without a token)")
    print(
        "# unless told otherwise, so import notes for this token with:  homelab-hub memory import NOTES --agent claude"
    )
    return 0


def _entry() -> None:
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())


if __name__ == "__main__":
    _entry()

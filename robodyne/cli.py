"""`python -m robodyne COMMAND` and the `robodyne` console script (docs/operations.md): the
owner's commands, reading the settings exactly as run.py does."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from .core.errors import StorageUnavailable
from .core.roles import Role
from .core.tokens import SHOWN_CHARS, Grant, shown, token_id
from .settings import Settings, SettingsError, load_settings
from .store.backup import BackupError, new_name, prune, restore, write_backup
from .tokenfile import add_token, new_token, read_tokens, revoke_token, tokens_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robodyne", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML file (default config/robodyne.toml)")
    parser.add_argument("--db", type=Path, help="SQLite database file")
    commands = parser.add_subparsers(dest="command", required=True)
    tokens = commands.add_parser("tokens", help="list, add or revoke tokens (tokens.toml)")
    actions = tokens.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every token by its first 4 characters, its id (as"
                       " GET /api/tokens names it), role and label")
    add = actions.add_parser("add", help="make a token and print it, once")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--label", default="", help="who holds it, e.g. 'grill tablet'")
    add.add_argument("--robot-id", help="bind a robot token to this robot id")
    revoke = actions.add_parser("revoke", help="remove the token that starts with PREFIX")
    revoke.add_argument("prefix", help=f"its first {SHOWN_CHARS} characters or more")
    # --config and --db also after the command (`robodyne backup --config …`); SUPPRESS keeps
    # the subcommand from resetting what was given before it.
    placed_after = argparse.ArgumentParser(add_help=False)
    placed_after.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    placed_after.add_argument("--db", type=Path, default=argparse.SUPPRESS)
    backup = commands.add_parser(
        "backup", parents=[placed_after],
        help="write a checked copy of the database, server running or not")
    backup.add_argument("--to", type=Path, help="a file, or a directory to name one in"
                        " (default: a new file in backup.dir, the oldest beyond backup.keep"
                        " removed)")
    put_back = commands.add_parser(
        "restore", parents=[placed_after],
        help="replace the database with a backup (the server stopped)")
    put_back.add_argument("path", type=Path, help="the backup file")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    argv = []
    if args.config is not None:
        argv += ["--config", str(args.config)]
    if args.db is not None:
        argv += ["--db", str(args.db)]
    return load_settings(argv)


def tokens_command(args: argparse.Namespace, settings: Settings) -> str:
    """Carry out `tokens list|add|revoke`; returns what to print."""
    path = tokens_path(settings.database.path)
    if args.action == "list":
        rows = [(t, str(g), g.label, "tokens.toml") for t, g in read_tokens(path).items()]
        rows += [(t, v, "", "config") for t, v in settings.auth.tokens.items()]
        if not rows:
            return f"no tokens yet in {path} or the config"
        width = max(len(str(r[1])) for r in rows)
        return "\n".join(f"{shown(t):<6} {token_id(t)}  {r:<{width}}  {s:<11}  {label}"
                         for t, r, label, s in rows)
    if args.action == "add":
        if args.robot_id is not None and args.role != Role.ROBOT:
            raise SettingsError("--robot-id binds a robot token: use it with --role robot")
        value = f"robot:{args.robot_id}" if args.robot_id is not None else args.role
        try:
            grant = Grant.parse(value, args.label)
        except ValueError as err:
            raise SettingsError(str(err)) from None
        token = new_token()
        add_token(path, token, grant)
        return token
    prefix = args.prefix
    if len(prefix) < SHOWN_CHARS:
        raise SettingsError(f"give at least {SHOWN_CHARS} characters of the token")

    def pick(stored: Mapping[str, Grant]) -> str:
        matches = [t for t in stored if t.startswith(prefix)]
        if not matches and any(t.startswith(prefix) for t in settings.auth.tokens):
            raise SettingsError(f"{prefix}… is in the config file's [auth.tokens]: remove it"
                                " there")
        if not matches:
            raise SettingsError(f"no token in {path} starts with {prefix}")
        if len(matches) > 1:
            raise SettingsError(f"{len(matches)} tokens start with {prefix}: give more"
                                " characters")
        return matches[0]
    token, grant = revoke_token(path, pick)
    held_by = f", {grant.label}" if grant.label else ""
    return f"revoked {shown(token)} ({grant}{held_by}); a running server drops it within 5 s"


async def backup_command(args: argparse.Namespace, settings: Settings) -> str:
    """Carry out `backup [--to PATH]`; returns what to print."""
    now = datetime.now(timezone.utc)
    to: Path | None = args.to
    target = (new_name(to, now) if to.is_dir() else to) if to is not None \
        else new_name(settings.backup.dir, now)
    started = time.perf_counter()
    written = await write_backup(settings.database.path, target)
    said = (f"backup of {settings.database.path} written to {written.path}"
            f" ({written.size} bytes in {time.perf_counter() - started:.2f} s)")
    if to is None:
        pruned = prune(settings.backup.dir, settings.backup.keep)
        if pruned:
            said += (f"\nremoved {len(pruned)} older backup(s), keeping the newest"
                     f" {settings.backup.keep}: " + ", ".join(p.name for p in pruned))
    return said


async def restore_command(args: argparse.Namespace, settings: Settings) -> str:
    """Carry out `restore PATH`; returns what to print."""
    database = settings.database.path
    done = await restore(args.path, database, datetime.now(timezone.utc))
    kept = (f"the previous database is kept as {done.kept}" if done.kept is not None
            else "there was no database before")
    return (f"restored {args.path} (schema version {done.version}) to {database};"
            f" {kept}\nstart the server to use it (it migrates the schema if need be)")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "backup":
            print(asyncio.run(backup_command(args, settings)))
        elif args.command == "restore":
            print(asyncio.run(restore_command(args, settings)))
        else:
            print(tokens_command(args, settings))
    except (SettingsError, BackupError) as err:
        print(f"robodyne: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (OSError, StorageUnavailable) as err:
        print(f"robodyne: {args.command} failed: {err}", file=sys.stderr)
        raise SystemExit(1) from None

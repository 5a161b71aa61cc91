"""`syncline keys …` (API keys: create, list, revoke) and `syncline audit …` (list, verify)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from syncline.cli.common import _principal, _system, err, out

keys_app = typer.Typer(help="API keys: named, with roles, expiring, revocable; stored hashed.",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log of human actions and configuration.",
                        no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(help="Database URL")]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it)")],
    role: Annotated[list[str], typer.Option(
        help="integration | billing | pmo | finance | controller | auditor | admin "
        "(repeatable)")],
    expires: Annotated[str | None, typer.Option(help="YYYY-MM-DD or an ISO instant (UTC)")]
    = None,
    database_url: DbOption = None,
) -> None:
    """Make a key. It is printed once, here: only its SHA-256 is stored. Needs admin."""
    from syncline.services.governance.keys import KeyRefused, create_key
    from syncline.services.governance.roles import UnknownRole

    sys_ = _system(database_url)
    principal = _principal(sys_, "admin", action="creating a key")
    try:
        with sys_.engine.begin() as conn:
            token, view = create_key(conn, name, role, by=principal.name, now=sys_.clock(),
                                     expires=expires)
    except (KeyRefused, UnknownRole) as refused:
        err.print(f"[red]Refused:[/] {refused}")
        raise typer.Exit(2) from None
    err.print(f"Key [bold]{name}[/] ({', '.join(view.roles)}"
              + (f", expires {view.expires_at}" if view.expires_at else "")
              + "). Shown once, keep it now; send it as the X-API-Key header:")
    print(token)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False,
              database_url: DbOption = None) -> None:
    """Keys (never their tokens): roles, status, expiry, who made and revoked them."""
    from syncline.services.governance.keys import list_keys

    sys_ = _system(database_url)
    _principal(sys_, "admin", "auditor", action="listing keys")
    with sys_.engine.connect() as conn:
        rows = [k.as_dict(sys_.clock()) for k in list_keys(conn)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"API keys ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("name", "prefix", "roles", "status", "expires_at", "last_used_at",
                "created_by"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["prefix"] + "…", ",".join(r["roles"]), r["status"],
                      r["expires_at"] or "", r["last_used_at"] or "never", r["created_by"])
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument()],
                reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None,
                database_url: DbOption = None) -> None:
    """Revoke a key: it is refused (401) from now on. Needs admin."""
    from syncline.services.governance.keys import KeyRefused, revoke_key

    sys_ = _system(database_url)
    principal = _principal(sys_, "admin", action="revoking a key")
    try:
        with sys_.engine.begin() as conn:
            view = revoke_key(conn, name, by=principal.name, now=sys_.clock(), reason=reason)
    except KeyRefused as refused:
        err.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    out.print(f"Key {name} revoked at {view.revoked_at} by {principal.name}.")


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="e.g. period.reopen, key.create")] = None,
    limit: Annotated[int, typer.Option(help="The last N rows")] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    database_url: DbOption = None,
) -> None:
    """The audit log, oldest first: who, what, before/after, why, when."""
    from syncline.services.governance.audit import entries

    sys_ = _system(database_url)
    _principal(sys_, "auditor", "controller", "admin", action="reading the audit log")
    with sys_.engine.connect() as conn:
        rows = entries(conn, actor=actor, action=action, limit=limit)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"Audit log ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("seq", "at", "actor", "action", "subject", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["seq"]), r["at"], r["actor"], r["action"], r["subject"],
                      r["reason"] or "")
    out.print(table)


@audit_app.command("anchor")
def audit_anchor(file: Annotated[Path, typer.Argument(
        help="append the head here: a file outside the database (WORM storage, a repository, "
        "a ticket)")], database_url: DbOption = None) -> None:
    """Write the chain's head (seq and hash) down outside the database, so a later
    `audit verify --anchors FILE` finds a log cut back or rewritten whole."""
    from syncline.services.governance.audit import head

    sys_ = _system(database_url)
    with sys_.engine.connect() as conn:
        seq, digest = head(conn)
    with file.open("a", encoding="utf-8") as f:
        f.write(f"{seq} {digest} {sys_.clock().isoformat()}\n")
    out.print(f"Anchored row {seq} ({digest[:16]}…) in {file}")


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False,
                 anchors: Annotated[Path | None, typer.Option(
                     help="a file of anchors from `audit anchor`: each must still hold")] = None,
                 database_url: DbOption = None) -> None:
    """Recompute the hash chain. Exit 0 when intact (prints the head hash to keep as an
    anchor); exit 1 naming the first edited, deleted or inserted row, or a broken anchor."""
    from syncline.services.governance.audit import parse_anchors, verify

    sys_ = _system(database_url)
    try:
        kept = parse_anchors(anchors.read_text(encoding="utf-8")) if anchors else []
    except (OSError, ValueError) as bad:
        err.print(f"[red]Cannot read the anchors:[/] {bad}")
        raise typer.Exit(2) from None
    with sys_.engine.connect() as conn:
        verdict = verify(conn, kept)
    if as_json:
        print(json.dumps(verdict.as_dict(), indent=2))
    elif verdict.ok:
        out.print(f"Audit chain intact: {verdict.rows} rows, head {verdict.head}")
    else:
        err.print(f"[red]Audit chain broken at row {verdict.seq}:[/] {verdict.problem}")
    if not verdict.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")

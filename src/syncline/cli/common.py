"""What every command shares: the consoles, settings read at the edge, the wired system."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from syncline.bootstrap import Syncline, bootstrap, settle_process
from syncline.config import Settings
from syncline.services.governance.roles import Principal

out = Console()
err = Console(stderr=True)


def _settings(database_url: str | None) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as invalid:
        for e in invalid.errors():
            name = "SYNCLINE_" + "_".join(str(p) for p in e["loc"]).upper()
            err.print(f"[red]Setting {name} is invalid:[/] {e['msg']} (got {e['input']!r})")
        raise typer.Exit(2) from None


def _system(settings: Settings | str | None = None, **kwargs: Any) -> Syncline:
    """The wired system for a command; a bad ledger configuration file is a clear error."""
    from syncline.services.ledger.config import LedgerConfigInvalid
    from syncline.services.masterdata import MasterDataInvalid

    if not isinstance(settings, Settings):
        settings = _settings(settings)
    try:
        system = bootstrap(settings, **kwargs)
    except MasterDataInvalid as invalid:
        err.print(f"[red]SYNCLINE_MASTER_DATA {settings.master_data} is invalid:[/]")
        for problem in invalid.problems:
            err.print(f"  {problem.where}: {problem.message}", highlight=False)
        raise typer.Exit(2) from None
    except LedgerConfigInvalid as invalid:
        err.print(f"[red]SYNCLINE_LEDGER_CONFIG {settings.ledger_config} is invalid:[/]")
        for problem in invalid.problems:
            err.print(f"  {problem.where}: {problem.message}")
        raise typer.Exit(2) from None
    settle_process()
    return system


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=quiet, transient=False)


def _principal(sys_: Syncline, *roles: str, action: str = "this command") -> Principal:
    """Who the local CLI acts as: SYNCLINE_CLI_PRINCIPAL (default ``cli:<OS user>``) with
    SYNCLINE_CLI_ROLES (default every role but auditor). With ``roles``, the principal must
    hold one of them (else exit 2). The name is what the services record as the actor."""
    import getpass

    from syncline.services.governance.roles import UnknownRole, parse_roles

    settings = sys_.settings
    try:
        held = parse_roles(settings.cli_roles)
    except UnknownRole as bad:
        err.print(f"[red]Setting SYNCLINE_CLI_ROLES is invalid:[/] {bad}")
        raise typer.Exit(2) from None
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "operator"
    principal = Principal(settings.cli_principal.strip() or f"cli:{user}", held, via="cli")
    if roles and not principal.has(*roles):
        err.print(f"[red]Refused:[/] {action} needs the role {' or '.join(roles)}; "
                  f"{principal.name} has {', '.join(sorted(held)) or 'none'} "
                  "(SYNCLINE_CLI_ROLES)")
        raise typer.Exit(2)
    return principal

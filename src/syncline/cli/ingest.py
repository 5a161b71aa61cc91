"""Receiving a stream: `syncline ingest FILE|-`, read line by line in chunks (constant memory)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Sized
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console

from syncline.bootstrap import Syncline
from syncline.cli.common import _progress, _system, err, out

CHUNK = 2000  # messages received per transaction


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while chunk := list(islice(it, size)):
        yield chunk


def _stream_lines(stream: BinaryIO, read: list[int]) -> Iterator[str]:
    """The non-blank lines of a JSON-lines stream, one at a time (constant memory); `read`
    counts the bytes consumed. A line that is not UTF-8 is kept with its bad bytes escaped
    (``\\xff``), which no JSON parser accepts: it is rejected as unreadable, not lost."""
    for raw in stream:
        read[0] += len(raw)
        line = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
        if line.strip():
            yield line


def ingest_lines(sys_: Syncline, lines: Iterable[str], console: Console, quiet: bool, *,
                 total_bytes: int | None = None, read: list[int] | None = None) -> None:
    """Receive `lines` in chunks of `CHUNK` (one transaction each), applying each chunk in its
    transaction when nothing else waits (`services/messaging/straight.py`), then apply what
    is left (earlier messages, released ones) in units of work.

    Memory does not grow with the stream: lines are taken one chunk at a time. The progress
    shows bytes when the size is known (`total_bytes`, with `read` counting), else messages
    against the count when `lines` is a sized collection, else a running count."""
    from syncline.services.messaging.inbox import prepare
    from syncline.services.messaging.outcomes import Stats
    from syncline.services.messaging.queues import pending_count
    from syncline.services.messaging.straight import ingest_chunk

    sized = isinstance(lines, Sized)
    with _progress(console, quiet) as progress:
        if total_bytes is not None and read is not None:
            recv = progress.add_task("Receiving (raw to inbox)", total=total_bytes)
        else:
            recv = progress.add_task("Receiving (raw to inbox)",
                                     total=len(lines) if isinstance(lines, Sized) else None)
        apply = progress.add_task("Applying (units of work)", total=None)
        received = 0
        stats = Stats()
        for chunk in _chunks(lines, CHUNK):
            applied = ingest_chunk(sys_.engine, prepare(chunk), sys_.ref, sys_.clock, stats,
                                   log=lambda e: _defect(console, e))
            received += len(chunk)
            if total_bytes is not None and read is not None:
                progress.update(recv, completed=read[0],
                                description=f"Receiving (raw to inbox): {received:,} messages")
            else:
                progress.advance(recv, len(chunk))
            progress.update(apply, total=progress.tasks[apply].completed + applied)
            progress.advance(apply, applied)
        if not sized:
            progress.update(recv, total=progress.tasks[recv].completed)
        with sys_.engine.connect() as conn:
            pending = pending_count(conn)
        progress.update(apply, total=progress.tasks[apply].completed + pending)

        def advance(n: int) -> None:  # released messages are applied again: grow the total
            task = progress.tasks[apply]
            if task.completed + n > (task.total or 0):
                progress.update(apply, total=task.completed + n)
            progress.advance(apply, n)

        sys_.process(progress=advance)


def _defect(console: Console, error: Exception) -> None:
    console.print(f"[yellow]Applying a chunk as received failed ({type(error).__name__}: "
                  f"{error}); that transaction was rolled back and the chunk received "
                  "again on its own: it is applied afterwards in units of work, carefully "
                  "(each set and message on its own savepoint).[/]")


def ingest(
    file: Annotated[str, typer.Argument(help="A JSON-lines file of CloudEvents, or - for stdin")],
    database_url: Annotated[str | None, typer.Option()] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    deliver: Annotated[bool, typer.Option(help="Deliver the outbox afterwards")] = True,
) -> None:
    """Receive and apply a stream of events (every line kept raw, bad ones rejected).

    The stream is read line by line and received in chunks of 2,000 messages, one
    transaction each, so memory stays flat whatever its size; killed part-way, run it again:
    what was received is acknowledged as duplicates and the rest goes on."""
    from syncline.services.messaging.queues import ingest_counts

    read = [0]
    if file == "-":
        source: Any = contextlib.nullcontext(sys.stdin.buffer)
        size = None
    else:
        path = Path(file)
        if not path.is_file():
            err.print(f"[red]No such file:[/] {file}")
            raise typer.Exit(2)
        source, size = path.open("rb"), path.stat().st_size
    sys_ = _system(database_url)
    with source as stream:
        ingest_lines(sys_, _stream_lines(stream, read), err, quiet, total_bytes=size,
                     read=read if size is not None else None)
    sys_.sweep()
    if deliver:
        sys_.deliver()
    with sys_.engine.connect() as conn:
        out.print_json(data=ingest_counts(conn))


def register(app: typer.Typer) -> None:
    app.command()(ingest)

"""HTTP ingest: `POST /v1/events` against a bare FastAPI endpoint doing one INSERT per request.

Every server runs the same way (uvicorn, one process, on 127.0.0.1, no access log) and is
driven by the same client: wrk (bench/wrk.py) when Debian's `wrk` is installed — a C client, so
the bare baseline is not client-bound on two shared cores — else httpx (asyncio). Figures, side
by side, each Syncline configuration against the bare endpoint of the same run:
- maximum throughput, single events, closed loop with 32 requests in flight;
- at a fixed offered load of half the bare maximum: sustained requests/s and p50/p99 latency;
- batches of 500 events, closed loop with 4 in flight: events/s.

Syncline configurations (BENCH_HTTP_CONFIGS, comma-separated; default all three):
- ``receive``: `serve --no-worker` and no worker: the request path alone (store, answer);
  what is received is applied later;
- ``worker-process``: `serve --no-worker` beside a `syncline worker` process applying on the
  same SQLite file (the deployment docs/scale-out.md describes);
- ``in-process``: `serve` with its own background worker applying (the default `serve`).
With a worker, SQLite's one write lock is shared by the API's receive and the worker's apply
transactions, so the API's latency includes waiting for the apply batch under way.
Goal (issue 10): ≥ 0.5× bare throughput, p99 < 50 ms at half the bare maximum, batches ≥ 0.5×.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import wrk
from syncline.simulator import SimulationConfig, simulate

DURATION = float(os.environ.get("BENCH_HTTP_SECONDS", "5"))
KEY = "bench-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_PIDS: dict[str, int] = {}  # server base URL → its process id


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _server(args: list[str], env: dict[str, str], port: int, health: str) -> Iterator[str]:
    log = open(Path(tempfile.gettempdir()) / f"bench-http-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + health, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server {' '.join(args)} did not start")
        _PIDS[base] = proc.pid
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def _closed_loop(url: str, bodies: Iterator[str], in_flight: int, seconds: float,
                       headers: dict[str, str]) -> tuple[int, float]:
    done = 0
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(
            max_connections=in_flight)) as client:
        async def one() -> None:
            nonlocal done
            while time.monotonic() < stop:
                r = await client.post(url, content=next(bodies), headers=headers)
                r.raise_for_status()
                done += 1
        t0 = time.monotonic()
        await asyncio.gather(*(one() for _ in range(in_flight)))
        return done, time.monotonic() - t0


async def _open_loop(url: str, bodies: Iterator[str], rate: float, seconds: float,
                     headers: dict[str, str]) -> tuple[float, float, float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(
            max_connections=256)) as client:
        async def one(at: float, body: str) -> None:
            r = await client.post(url, content=body, headers=headers)
            r.raise_for_status()
            latencies.append(time.monotonic() - at)
        t0 = time.monotonic()
        tasks = []
        n = int(rate * seconds)
        for i in range(n):
            at = t0 + i / rate
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(at, next(bodies))))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
    q = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, q[49] * 1000, q[98] * 1000


def _bodies(stream: Iterator[str], batch: int = 1) -> Iterator[str]:
    while True:
        yield next(stream) if batch == 1 else "[" + ",".join(
            next(stream) for _ in range(batch)) + "]"


def _unique(events: list[dict[str, object]]) -> Iterator[str]:
    """The simulated stream, again and again, each round under new event ids (a resent id
    would only be a cheap duplicate answer)."""
    for round_ in range(1_000_000):
        for e in events:
            yield json.dumps({**e, "id": f"{e['id']}~{round_}"} if round_ else e)


_DESCRIBED = {
    "receive": "serve --no-worker, no worker (the request path alone)",
    "worker-process": "serve --no-worker + a syncline worker process (same SQLite file)",
    "in-process": "serve with its background worker (the default)",
}
CONFIGS = {
    "receive": (["--no-worker"], False),
    "worker-process": (["--no-worker"], True),
    "in-process": ([], False),
}


def _measure(url: str, events: list[dict[str, object]], stream: Iterator[str],
             hdr: dict[str, str], rate: float | None) -> dict[str, float]:
    """max (closed loop), then at ``rate`` (half the bare max; the max itself when None:
    the bare server's first pass), then batches."""
    out: dict[str, float] = {}
    pid = _PIDS[url.rsplit("/", 2)[0] if url.endswith("/v1/events") else url.rsplit("/", 1)[0]]
    cpu = _cpu_seconds(pid)
    if wrk.available():
        n, t, p50, p99 = wrk.closed_loop(url, wrk.with_placeholder(events), 32, DURATION, hdr)
        out.update(max=n / t, closed_p50=p50, closed_p99=p99)
    else:
        n, t = asyncio.run(_closed_loop(url, _bodies(stream), 32, DURATION, hdr))
        out["max"] = n / t
    # the server's CPU per request: what a loaded, shared machine does not blur
    out["cpu_ms"] = (_cpu_seconds(pid) - cpu) * 1000 / max(n, 1)
    rate = rate or out["max"] / 2
    if wrk.available():
        n, t, p50, p99 = wrk.fixed_rate(url, wrk.with_placeholder(events), rate, DURATION, hdr)
        out.update(sustained=n / t, p50=p50, p99=p99)
    else:
        rps, p50, p99 = asyncio.run(_open_loop(url, _bodies(stream), rate, DURATION, hdr))
        out.update(sustained=rps, p50=p50, p99=p99)
    cpu = _cpu_seconds(pid)
    if wrk.available():
        n, t, _, _ = wrk.closed_loop(url, wrk.with_placeholder(events, batch=500, count=20), 4,
                                     DURATION, hdr)
    else:
        n, t = asyncio.run(_closed_loop(url, _bodies(stream, 500), 4, DURATION, hdr))
    out["batch"] = n * 500 / t
    out["batch_cpu_us"] = (_cpu_seconds(pid) - cpu) * 1e6 / max(n * 500, 1)  # per event
    return out


def _syncline(tmp: str, name: str) -> Iterator[str]:
    args, worker_process = CONFIGS[name]
    port = _free_port()
    py = sys.executable
    db = f"sqlite:///{Path(tmp) / f'{name}.db'}"
    env = {"SYNCLINE_DATABASE_URL": db, "SYNCLINE_API_KEYS": KEY, "SYNCLINE_RATE_LIMIT": "off"}
    cli = str(Path(py).parent / "syncline")
    with _server([cli, "serve", "--port", str(port), *args], env, port, "/v1/health") as base:
        if not worker_process:
            yield base
            return
        log = open(Path(tmp) / f"{name}-worker.log", "w")  # noqa: SIM115
        worker = subprocess.Popen([cli, "worker"], env={**os.environ, **env}, stdout=log,
                                  stderr=log)
        try:
            yield base
        finally:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
            log.close()


def main() -> None:
    sim = simulate(SimulationConfig(seed=11, customers=120, workers=400, months=12))
    lines = [ln for ln in sim.to_jsonl().splitlines() if ln]
    configs = [c.strip() for c in os.environ.get("BENCH_HTTP_CONFIGS", ",".join(CONFIGS))
               .split(",") if c.strip()]
    print(f"{len(lines):,} simulated events; {DURATION:.0f} s per measurement; "
          f"Syncline configurations: {', '.join(configs)}")
    hdr = {"content-type": "application/json", "X-API-Key": KEY}
    stream = _unique([json.loads(ln) for ln in lines])
    next(stream)  # parsed before any clock runs
    events = [json.loads(ln) for ln in lines]
    client = "wrk" if wrk.available() else "httpx"
    print(f"client: {client}" + ("" if client == "wrk" else " (install Debian's wrk for a "
                                 "client that is not the bottleneck: apt-get install wrk)"))
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bare_port = _free_port()
        with _server([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port",
                      str(bare_port), "--log-level", "warning", "--no-access-log"],
                     {"BARE_DB": str(Path(tmp) / "bare.db")}, bare_port, "/docs") as b:
            for name in configs:  # the bare endpoint again before each: a shared machine's
                bare = _measure(b + "/events", events, stream, hdr, None)  # load drifts
                with contextmanager(_syncline)(tmp, name) as s:
                    results[name] = {"bare": bare, "syncline": _measure(
                        s + "/v1/events", events, stream, hdr, bare["max"] / 2)}
    for name in configs:
        bare, syn = results[name]["bare"], results[name]["syncline"]
        print(f"\n{name}: {_DESCRIBED[name]}")
        print(f"{'':40}{'bare':>12}{'syncline':>14}{'ratio':>7}")
        print(f"{'single events, max req/s (32 in flight)':40}{bare['max']:>12,.0f}"
              f"{syn['max']:>14,.0f}{syn['max'] / bare['max']:>7.2f}")
        offered = f"offered {bare['max'] / 2:,.0f} req/s: sustained req/s"
        print(f"{offered:40}"
              f"{bare['sustained']:>12,.0f}{syn['sustained']:>14,.0f}"
              f"{syn['sustained'] / bare['sustained']:>7.2f}")
        print(f"{'  p50 / p99 latency ms':40}{bare['p50']:>6.1f}/{bare['p99']:<5.1f}"
              f"{syn['p50']:>8.1f}/{syn['p99']:<5.1f}")
        if "closed_p99" in bare:
            print(f"{'  at max (wrk), p50 / p99 ms':40}"
                  f"{bare['closed_p50']:>6.1f}/{bare['closed_p99']:<5.1f}"
                  f"{syn['closed_p50']:>8.1f}/{syn['closed_p99']:<5.1f}")
        print(f"{'  server CPU ms per request (at max)':40}{bare['cpu_ms']:>12.2f}"
              f"{syn['cpu_ms']:>14.2f}{syn['cpu_ms'] / bare['cpu_ms']:>7.2f}")
        print(f"{'batches of 500, events/s (4 in flight)':40}{bare['batch']:>12,.0f}"
              f"{syn['batch']:>14,.0f}{syn['batch'] / bare['batch']:>7.2f}")
        print(f"{'  server CPU us per event in batches':40}{bare['batch_cpu_us']:>12.1f}"
              f"{syn['batch_cpu_us']:>14.1f}{syn['batch_cpu_us'] / bare['batch_cpu_us']:>7.2f}")
    print(json.dumps({"http": results}, default=float))


if __name__ == "__main__":
    main()

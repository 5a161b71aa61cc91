"""HTTP ingest: `POST /v1/events` against a bare FastAPI endpoint doing one INSERT per request.

Both servers run the same way (uvicorn, one process, on 127.0.0.1) and are driven by the same
client: wrk (bench/wrk.py) when Debian's `wrk` is installed — a C client, so the bare baseline
is not client-bound on two shared cores — else httpx (asyncio). Figures, side by side:
- maximum throughput, single events, closed loop with 32 requests in flight;
- at a fixed offered load of half the bare maximum (open loop: requests are sent on schedule
  whatever the answers, latency measured from the scheduled send, so queueing counts):
  sustained requests/s and p50/p99 latency;
- batches of 500 events, closed loop with 4 in flight: events/s.
Syncline's numbers include its background worker applying what arrives (the same SQLite
file), which is the honest cost of a running system. Goal (issue 10): ≥ 0.5× bare throughput,
p99 < 50 ms at half the bare maximum, batches ≥ 0.5× bare.
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


def main() -> None:
    sim = simulate(SimulationConfig(seed=11, customers=120, workers=400, months=12))
    lines = [ln for ln in sim.to_jsonl().splitlines() if ln]
    print(f"{len(lines):,} simulated events; {DURATION:.0f} s per measurement")
    with tempfile.TemporaryDirectory() as tmp:
        bare_port, sync_port = _free_port(), _free_port()
        py = sys.executable
        bare = _server([py, "-m", "uvicorn", "bench.bare_app:app", "--port", str(bare_port),
                        "--log-level", "warning"], {"BARE_DB": str(Path(tmp) / "bare.db")},
                       bare_port, "/docs")
        syncline = _server([str(Path(py).parent / "syncline"), "serve", "--port",
                            str(sync_port)], {
            "SYNCLINE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'syncline.db'}",
            "SYNCLINE_API_KEYS": KEY, "SYNCLINE_RATE_LIMIT": "off"}, sync_port, "/v1/health")
        hdr = {"content-type": "application/json", "X-API-Key": KEY}
        results: dict[str, dict[str, float]] = {"bare": {}, "syncline": {}}
        stream = _unique([json.loads(ln) for ln in lines])
        next(stream)  # parsed before any clock runs
        events = [json.loads(ln) for ln in lines]
        client = "wrk" if wrk.available() else "httpx"
        print(f"client: {client}" + ("" if client == "wrk" else " (install Debian's wrk for a "
                                     "client that is not the bottleneck: apt-get install wrk)"))
        with bare as b, syncline as s:
            for name, url in (("bare", b + "/events"), ("syncline", s + "/v1/events")):
                if client == "wrk":
                    n, t, p50, p99 = wrk.closed_loop(url, wrk.with_placeholder(events), 32,
                                                     DURATION, hdr)
                    results[name].update(closed_p50=p50, closed_p99=p99)
                else:
                    n, t = asyncio.run(_closed_loop(url, _bodies(stream), 32, DURATION, hdr))
                results[name]["max"] = n / t
            rate = results["bare"]["max"] / 2
            for name, url in (("bare", b + "/events"), ("syncline", s + "/v1/events")):
                if client == "wrk":
                    n, t, p50, p99 = wrk.fixed_rate(url, wrk.with_placeholder(events), rate,
                                                    DURATION, hdr)
                    rps = n / t
                else:
                    rps, p50, p99 = asyncio.run(_open_loop(url, _bodies(stream), rate,
                                                           DURATION, hdr))
                results[name].update(sustained=rps, p50=p50, p99=p99)
            for name, url in (("bare", b + "/events"), ("syncline", s + "/v1/events")):
                if client == "wrk":
                    n, t, _, _ = wrk.closed_loop(url, wrk.with_placeholder(
                        events, batch=500, count=20), 4, DURATION, hdr)
                else:
                    n, t = asyncio.run(_closed_loop(url, _bodies(stream, 500), 4, DURATION,
                                                    hdr))
                results[name]["batch"] = n * 500 / t
    bare_r, syn = results["bare"], results["syncline"]
    print(f"{'':38}{'bare':>12}{'syncline':>12}{'ratio':>8}")
    print(f"{'single events, max req/s (32 in flight)':38}{bare_r['max']:>12,.0f}"
          f"{syn['max']:>12,.0f}{syn['max'] / bare_r['max']:>8.2f}")
    print(f"{f'offered {rate:,.0f} req/s: sustained req/s':38}{bare_r['sustained']:>12,.0f}"
          f"{syn['sustained']:>12,.0f}{syn['sustained'] / bare_r['sustained']:>8.2f}")
    print(f"{'  p50 latency ms':38}{bare_r['p50']:>12.1f}{syn['p50']:>12.1f}")
    print(f"{'  p99 latency ms':38}{bare_r['p99']:>12.1f}{syn['p99']:>12.1f}")
    if "closed_p99" in bare_r:
        print(f"{'  at max (wrk), p50 / p99 ms':38}"
              f"{bare_r['closed_p50']:>6.1f}/{bare_r['closed_p99']:<5.1f}"
              f"{syn['closed_p50']:>6.1f}/{syn['closed_p99']:<5.1f}")
    print(f"{'batches of 500, events/s (4 in flight)':38}{bare_r['batch']:>12,.0f}"
          f"{syn['batch']:>12,.0f}{syn['batch'] / bare_r['batch']:>8.2f}")
    print(json.dumps({"http": results}, default=float))


if __name__ == "__main__":
    main()

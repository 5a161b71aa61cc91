"""Drive a server with wrk (C, from Debian's `wrk` package) when it is installed: on two
shared cores a Python client is the bottleneck of the bare baseline, wrk is not.

`closed_loop(url, bodies, connections, seconds, headers)` posts the bodies in turn (each with
a fresh id suffix, so none is a cheap duplicate) from one wrk thread with ``connections`` in
flight, and returns (requests, seconds, p50 ms, p99 ms) from wrk's own latency record.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

LUA = r"""
local bodies = {}
local n = 0
local f = io.open(os.getenv("WRK_BODIES"), "r")
for line in f:lines() do bodies[#bodies + 1] = line end
f:close()
wrk.method = "POST"
request = function()
  n = n + 1
  local id = tostring(n) .. "_" .. tostring(math.random(1e9))
  local body = bodies[(n % #bodies) + 1]:gsub("__N__", id)
  return wrk.format(nil, nil, nil, body)
end
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pause then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %f, \"p50\": %f, " ..
    "\"p99\": %f, \"errors\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def fixed_rate(url: str, bodies: list[str], rate: float, seconds: float,
               headers: dict[str, str], connections: int = 64
               ) -> tuple[int, float, float, float]:
    """About ``rate`` requests/s: each connection pauses ``connections / rate`` s between
    its requests (wrk's ``delay``). Latency is from each request's send, so a server that
    falls behind shows it as lower throughput, not higher latency (no coordinated-omission
    correction: wrk2 is not packaged here)."""
    return closed_loop(url, bodies, connections, seconds, headers,
                       delay_ms=connections * 1000.0 / rate)


def closed_loop(url: str, bodies: list[str], connections: int, seconds: float,
                headers: dict[str, str], delay_ms: float | None = None
                ) -> tuple[int, float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "post.lua", Path(tmp) / "bodies.txt"
        script.write_text(LUA)
        data.write_text("\n".join(bodies) + "\n")
        args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency",
                "--timeout", "30s",
                "-s", str(script)]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True,
                             env={"WRK_BODIES": str(data), "PATH": "/usr/bin:/bin",
                                  **({"WRK_DELAY_MS": f"{delay_ms:.3f}"} if delay_ms else {})}
                             ).stdout
    found = re.search(r"^JSON (.*)$", out, re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no summary: {out[-500:]}")
    r = json.loads(found.group(1))
    if r["errors"]:
        raise RuntimeError(f"wrk saw {r['errors']} errors against {url}")
    return int(r["requests"]), float(r["seconds"]), float(r["p50"]), float(r["p99"])


def with_placeholder(events: list[dict[str, object]], batch: int = 1,
                     count: int = 2000) -> list[str]:
    """Bodies whose ids end in ``__N__`` (replaced per request): single events or batches."""
    marked = [json.dumps({**e, "id": f"{e['id']}~__N__~{i}"}) for i, e in
              enumerate(events[: count * batch])]
    if batch == 1:
        return marked
    return ["[" + ",".join(marked[i:i + batch]) + "]" for i in range(0, len(marked), batch)]

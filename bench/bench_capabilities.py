"""Discovery throughput: GetCapabilities / DescribeProcess per second of one uvicorn worker.

    python -m bench.bench_capabilities            # 3 rounds of 10 s per request, one connection
    python -m bench.bench_capabilities -d 5 -n 5 -c 1

The service runs as a child process (``uvicorn app.main:app``, one worker, the embedded defaults
on a fresh data dir). wrk (Debian's ``wrk``) drives it over one keep-alive connection by default;
``/healthz`` is measured in the same run as the baseline (the framework's own floor, no document),
so the ratios are the figures to compare across machines. Needs ``wrk`` on the PATH.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.service import bench_service

REQUESTS = {
    "healthz (baseline)": "/healthz",
    "WPS 1.0.0 GetCapabilities": "/wps?service=WPS&request=GetCapabilities",
    "WPS 2.0.0 GetCapabilities": "/wps?service=WPS&request=GetCapabilities&AcceptVersions=2.0.0",
    "WPS 1.0.0 DescribeProcess ALL": "/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=ALL",
    "WPS 2.0.0 DescribeProcess ndvi": "/wps?service=WPS&version=2.0.0&request=DescribeProcess&identifier=ndvi",
    "OGC API /processes": "/processes",
}
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second wrk reaches on ``url``."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = _RATE.search(output)
    if match is None or "Non-2xx" in output:
        raise RuntimeError(f"wrk failed or saw errors on {url}:\n{output}")
    return float(match.group(1))


def main(argv: list[str] | None = None) -> int:
    """Run every request ``-n`` rounds (interleaved); print medians and ratios to the baseline."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--rounds", type=int, default=3, help="rounds of every request (default 3)")
    parser.add_argument("-d", "--seconds", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("-c", "--connections", type=int, default=1, help="keep-alive connections (default 1)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    rates: dict[str, list[float]] = {name: [] for name in REQUESTS}
    with tempfile.TemporaryDirectory() as data, bench_service(Path(data)) as (base, _pid):
        etag = httpx.get(base + REQUESTS["WPS 1.0.0 GetCapabilities"]).headers.get("etag")
        conditional = f"{base}{REQUESTS['WPS 1.0.0 GetCapabilities']}"
        if etag:
            rates["WPS 1.0.0 GetCapabilities, If-None-Match (304)"] = []
        for _ in range(args.rounds):
            for name, path in REQUESTS.items():
                rates[name].append(wrk(base + path, args.seconds, args.connections))
            if etag:
                name = "WPS 1.0.0 GetCapabilities, If-None-Match (304)"
                rates[name].append(wrk(conditional, args.seconds, args.connections, {"If-None-Match": etag}))
    baseline = statistics.median(rates["healthz (baseline)"])
    print(f"{args.connections} connection(s), {args.rounds} rounds of {args.seconds} s, medians:")
    for name, values in rates.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:<48} {median:8.0f} req/s  ({median / baseline:.2f} of healthz; runs {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

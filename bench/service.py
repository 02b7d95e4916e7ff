"""Drive the real service from outside: a ``uvicorn app.main:app`` child process, WPS 1.0.0 Execute
POSTs with inputs by reference, result downloads, and peak-RSS sampling of a process tree.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import quoteattr

import httpx
import psutil

from tests.support.service import free_port, service_process

GEOTIFF = "image/tiff; subtype=geotiff"
_NAMESPACES = (
    'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


@contextmanager
def bench_service(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """The service as a child process on a free port: yields (base URL, pid) for RSS sampling.

    Its results are deleted when it stops (benchmarks download what they compare).
    """
    port = free_port()
    env = {"WPS_ALLOWED_HOSTS": "127.0.0.1"} | (extra_env or {})
    try:
        with service_process(data_dir, port, env) as process:
            yield f"http://127.0.0.1:{port}", process.pid
    finally:
        forget_results(data_dir)


def forget_results(data_dir: Path) -> None:
    """Delete a bench service's result files: each ndvi run leaves 436 MiB, and a day's TTL of
    benchmark runs once filled this machine's disk (jobs then fail with NotEnoughStorage)."""
    shutil.rmtree(data_dir / "outputs", ignore_errors=True)


class ServiceProcess:
    """``uvicorn app.main:app`` on a free port (``tests.support.service``), for timing and RSS."""

    def __init__(
        self, data_dir: Path, allowed_hosts: str = "127.0.0.1", extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {"WPS_ALLOWED_HOSTS": allowed_hosts} | (extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self._stack = ExitStack()

    def __enter__(self) -> ServiceProcess:
        self.process = self._stack.enter_context(service_process(self.data_dir, self.port, self.env))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()
        self.process = None
        forget_results(self.data_dir)


def reference_input(identifier: str, href: str) -> str:
    """A wps:Input by reference."""
    return (
        f"<wps:Input><ows:Identifier>{identifier}</ows:Identifier>"
        f"<wps:Reference xlink:href={quoteattr(href)} mimeType={quoteattr(GEOTIFF)}/></wps:Input>"
    )


def bbox_input(identifier: str, bounds: tuple[float, float, float, float], crs: str) -> str:
    """A wps:Input holding a 2-D bounding box."""
    minx, miny, maxx, maxy = bounds
    return (
        f"<wps:Input><ows:Identifier>{identifier}</ows:Identifier><wps:Data>"
        f'<wps:BoundingBoxData crs={quoteattr(crs)} dimensions="2">'
        f"<ows:LowerCorner>{minx!r} {miny!r}</ows:LowerCorner>"
        f"<ows:UpperCorner>{maxx!r} {maxy!r}</ows:UpperCorner>"
        "</wps:BoundingBoxData></wps:Data></wps:Input>"
    )


def execute_xml(process: str, inputs: list[str], output: str) -> str:
    """A synchronous WPS 1.0.0 Execute asking for one output by reference."""
    return (
        f'<wps:Execute service="WPS" version="1.0.0" {_NAMESPACES}>'
        f"<ows:Identifier>{process}</ows:Identifier>"
        f"<wps:DataInputs>{''.join(inputs)}</wps:DataInputs>"
        '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true">'
        f"<ows:Identifier>{output}</ows:Identifier>"
        "</wps:Output></wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def output_href(document: bytes) -> str:
    """The href of the (first) output Reference in an ExecuteResponse; raises on exceptions."""
    root = ET.fromstring(document)
    outputs = next((e for e in root.iter() if e.tag.endswith("}ProcessOutputs")), None)
    for element in outputs.iter() if outputs is not None else ():
        if element.tag.endswith("}Reference"):
            href = element.get("href") or element.get("{http://www.w3.org/1999/xlink}href")
            if href:
                return href
    raise RuntimeError("no output reference in the response:\n" + document.decode(errors="replace")[:2000])


def execute_and_download(service_url: str, xml: str, destination: Path) -> None:
    """POST an Execute, then stream its output reference to ``destination``."""
    with httpx.Client(timeout=1800) as client:
        answer = client.post(f"{service_url}/wps", content=xml, headers={"Content-Type": "text/xml"})
        href = output_href(answer.content)
        with client.stream("GET", href) as result, destination.open("wb") as sink:
            result.raise_for_status()
            for block in result.iter_bytes(1 << 20):
                sink.write(block)


class PeakRss:
    """Samples the summed RSS of a process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                total = 0
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                self.peak = max(self.peak, total)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

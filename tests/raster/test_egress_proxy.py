"""The egress proxy as a proxy: who may use it, what it refuses (address forms, ports, methods),
how it relays (hop-by-hop headers, keep-alive, chunked and POST bodies), how it fails (timeouts,
unreachable hosts: clean answers, never a hang), and its life next to its owner process."""

from __future__ import annotations

import base64
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.model.errors import DataNotAccessible
from app.raster import egress
from app.raster.addresses import EgressPolicy
from app.raster.egress import EgressProxy, guarded_path
from app.raster.egress_relay import GUARD_HEADER
from app.raster.open import open_raster
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.egress_tools import Tripwire, installed, simulated_proxy
from tests.support.fakenet import read_log
from tests.support.rasters import Raster, RasterFactory


@pytest.fixture
def raster(tmp_path: Path) -> Raster:
    return RasterFactory(tmp_path / "served")("a.tif", width=120, height=90, blocksize=32)


@pytest.fixture
def server(raster: Raster) -> Iterator[DataServer]:
    with DataServer(raster.path.parent) as data_server:
        yield data_server


def client(*allowed: str, timeout: float = 10.0) -> httpx.Client:
    """An httpx client through this process's proxy under a policy allowing ``allowed``."""
    proxy = egress.current().httpx_proxy(EgressPolicy(allowed, timeout))
    return httpx.Client(proxy=proxy, trust_env=False, timeout=30)


def raw_exchange(request: bytes) -> bytes:
    """Send raw bytes to this process's proxy; everything it answers until it closes."""
    with socket.create_connection(("127.0.0.1", egress.current().port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ----------------------------------------------------------------------------- who may use it


@pytest.mark.parametrize("credentials", ["", "wrong-secret", "not-a-token"])
def test_no_open_relay(server: DataServer, credentials: str) -> None:
    proxy = egress.current()
    token = EgressPolicy(("*",), 5.0).token()
    header = {
        "": "",
        "wrong-secret": f"Proxy-Authorization: {basic(token, 'guess')}\r\n",
        "not-a-token": f"Proxy-Authorization: {basic('x', proxy.secret)}\r\n",
    }[credentials]
    answer = raw_exchange(f"GET {server.url('a.tif')} HTTP/1.1\r\nHost: x\r\n{header}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 407 ")
    assert b'Proxy-Authenticate: Basic realm="egress"' in answer
    assert server.requests == []


def test_it_listens_on_the_loopback_address_only() -> None:
    proxy = egress.current()
    assert proxy.url == f"http://127.0.0.1:{proxy.port}"
    connections = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    listening = [
        line.split()[3] for line in connections.splitlines() if line.split()[3].endswith(f":{proxy.port}")
    ]
    assert listening in ([], [f"127.0.0.1:{proxy.port}"])  # [] where ss is missing


# ----------------------------------------------------------------------------- what it refuses


def test_address_forms_and_ports_outside_the_policy_are_refused(server: DataServer) -> None:
    with Tripwire() as v4, Tripwire("::1") as v6, client(f"127.0.0.1:{server.port}") as http:
        for url in (
            f"http://127.0.0.1:{v4.port}/a.tif",  # the listed address, another port
            f"http://localhost:{v4.port}/a.tif",
            f"http://[::ffff:127.0.0.1]:{v4.port}/a.tif",
            f"http://[::1]:{v6.port}/a.tif",
            f"http://2130706433:{v4.port}/a.tif",
        ):
            response = http.get(url)
            assert response.status_code == 403 and GUARD_HEADER in response.headers, url
        for url in (f"https://127.0.0.1:{v4.port}/a.tif", f"https://[::1]:{v6.port}/a.tif"):
            with pytest.raises(httpx.ProxyError, match="403"):
                http.get(url)  # CONNECT refused: no tunnel is ever opened
        assert http.get(server.url("a.tif")).status_code == 200
    assert v4.connections == 0 and v6.connections == 0


def test_an_entry_without_a_port_allows_every_port(server: DataServer, raster: Raster) -> None:
    with DataServer(raster.path.parent) as other, client("127.0.0.1") as http:
        assert http.get(server.url("a.tif")).status_code == 200
        assert http.get(other.url("a.tif")).status_code == 200


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("PUT http://127.0.0.1:{port}/a.tif HTTP/1.1", 405),
        ("GET https://127.0.0.1:{port}/a.tif HTTP/1.1", 400),
        ("GET /a.tif HTTP/1.1", 400),
        ("GET http://user:pw@127.0.0.1:{port}/a.tif HTTP/1.1", 400),
        ("CONNECT 127.0.0.1 HTTP/1.1", 400),
        ("GET http://unknown.invalid:{port}/a.tif HTTP/1.1", 403),
    ],
)
def test_malformed_or_unsupported_requests(server: DataServer, request_line: str, status: int) -> None:
    auth = basic(EgressPolicy(("127.0.0.1", "unknown.invalid"), 5.0).token(), egress.current().secret)
    head = f"{request_line.format(port=server.port)}\r\nHost: x\r\nProxy-Authorization: {auth}\r\n\r\n"
    expected = 502 if "unknown.invalid" in request_line else status  # listed, but unresolvable
    assert raw_exchange(head.encode()).startswith(f"HTTP/1.1 {expected} ".encode())
    assert server.requests == []


# ----------------------------------------------------------------------------- how it relays


def test_hop_by_hop_headers_stay_on_their_hop(server: DataServer) -> None:
    with client("127.0.0.1") as http:
        headers = {"Connection": "X-Private", "X-Private": "secret", "X-End-To-End": "kept"}
        seen = http.get(f"{server.base_url}/headers", headers=headers).json()
    assert seen["x-end-to-end"] == "kept"
    assert "x-private" not in seen and "proxy-authorization" not in seen and "proxy-connection" not in seen
    assert seen["host"] == f"127.0.0.1:{server.port}"


def test_bodies_pass_through_in_their_framing(server: DataServer, raster: Raster) -> None:
    content = raster.path.read_bytes()
    with client("127.0.0.1") as http:
        assert http.get(f"{server.base_url}/chunked/a.tif").content == content
        assert http.post(f"{server.base_url}/echo", content=content).content == content
        ranged = http.get(server.url("a.tif"), headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == content[10:20]
        assert http.head(server.url("a.tif")).headers["content-length"] == str(len(content))


def test_connections_are_kept_alive_and_pinned(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    log = tmp_path / "net.log"
    with simulated_proxy(log, {"data.example": [["127.0.0.1"]]}) as proxy:
        http_proxy = proxy.httpx_proxy(EgressPolicy(("data.example",), 10.0))
        with httpx.Client(proxy=http_proxy, trust_env=False) as http:
            for start in range(0, 1000, 100):
                answer = http.get(
                    f"http://data.example:{server.port}/a.tif", headers={"Range": f"bytes={start}-"}
                )
                assert answer.content == raster.path.read_bytes()[start:]
    assert read_log(log) == [
        {"resolve": "data.example", "answer": ["127.0.0.1"]},
        {"connect": "127.0.0.1", "port": server.port},
    ]


# ----------------------------------------------------------------------------- how it fails


def test_a_silent_upstream_times_out_cleanly(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.tif"
        started = time.monotonic()
        with client("127.0.0.1", timeout=0.5) as http:
            response = http.get(url)
        assert response.status_code == 504 and GUARD_HEADER in response.headers
        settings = Settings(data_dir=tmp_path, allowed_hosts=["127.0.0.1"], http_timeout=0.5)
        with pytest.raises(DataNotAccessible):
            open_raster(guarded_path(url, settings), chunk_size=64, locator="dem")
        assert time.monotonic() - started < 20  # GDAL retries a 504 twice: never a hang


def test_an_unreachable_upstream_is_a_bad_gateway() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with client("127.0.0.1") as http:
        response = http.get(f"http://127.0.0.1:{port}/a.tif")
    assert response.status_code == 502 and "cannot connect" in response.headers[GUARD_HEADER]


# ----------------------------------------------------------------------------- its life


def test_the_proxy_dies_with_its_owner(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from app.raster import egress
        print(egress.current().process.pid, flush=True)
        time.sleep(60)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    owner.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the closed pipe tells the child
    owner.wait(timeout=10)
    owner.stdout.close()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or _state(child) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_dead_proxy_is_replaced(server: DataServer, raster: Raster, tmp_path: Path) -> None:
    proxy = EgressProxy.start()
    with installed(proxy):
        proxy.process.kill()
        proxy.process.wait(timeout=10)
        settings = Settings(data_dir=tmp_path, allowed_hosts=["127.0.0.1"])
        values = open_raster(guarded_path(server.url("a.tif"), settings), chunk_size=64, locator="r").values
        np.testing.assert_array_equal(values, raster.data)
        replacement = egress.current()
        assert replacement is not proxy and replacement.alive()
        replacement.stop()
    proxy.stop()


def test_a_forked_child_starts_its_own_proxy(server: DataServer) -> None:
    parent = egress.current()
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own proxy, which works; the parent's left alone
        try:
            with client(f"127.0.0.1:{server.port}") as http:
                ok = http.get(server.url("a.tif")).status_code == 200
            os.write(writing, f"{egress.current().port} {int(ok)}".encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        port, ok = answer.read().split()
    os.waitpid(pid, 0)
    assert int(port) != parent.port and ok == "1"
    assert egress.current() is parent and parent.alive()


def read_in_worker(pickled: bytes) -> tuple[int, int, int]:
    """In a worker process: (pid, its proxy's port, sum of the pixels of a pickled lazy raster)."""
    array = pickle.loads(pickled)
    total = int(array.values.sum())
    return os.getpid(), egress.current().port, total


def test_a_worker_process_reads_through_a_proxy_of_its_own(
    server: DataServer, raster: Raster, tmp_path: Path
) -> None:
    """As a dask.distributed worker would: the lazy raster pickles as plain paths, no sockets."""
    settings = Settings(data_dir=tmp_path, allowed_hosts=[f"127.0.0.1:{server.port}"])
    lazy = open_raster(guarded_path(server.url("a.tif"), settings), chunk_size=64, locator="red")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        pid, port, total = pool.submit(read_in_worker, pickle.dumps(lazy)).result(timeout=120)
    assert pid != os.getpid() and port != egress.current().port
    assert total == int(raster.data.sum())

"""The HTTP mirror (config ``mirror_url``): fetching through it, what it holds, and the workflow on it.

Every test serves a folder from 127.0.0.1 in a thread (:func:`serve`), which the test stops; a
watchdog stops it anyway after :data:`SERVE_LIMIT_S` seconds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from crossmodal.sources import HttpMirror, Source, SourceError, fetch_source, load_registry
from test_workflow import TINY, planned_jobs, snakemake

ROOT = Path(__file__).resolve().parents[1]
SERVE_LIMIT_S = 900
DATA = b"w1\tw2\t3.5\n" * 40


class _Handler(http.server.SimpleHTTPRequestHandler):
    """A static file server that records the requests it answers."""

    timeout = 60  # per connection: a stuck client cannot hold the server

    def log_request(self, code="-", size="-") -> None:  # once per answered request
        self.server.requests.append((self.command, self.path))

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """``http://127.0.0.1:PORT/`` serving ``folder``; ``.requests`` lists (method, path) answered."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    watchdog = threading.Timer(SERVE_LIMIT_S, httpd.shutdown)
    thread.start()
    watchdog.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        yield url, httpd.requests
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _loopback_without_proxy_and_private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # where pooch's cache would go


def _toy(data: bytes = DATA, **fields) -> Source:
    values = dict(name="toy", kind="file", filename="toy.txt", description="generated", licence="CC0-1.0",
                  urls=("http://127.0.0.1:9/toy.txt",), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                  verified=True, mirror_path="wordsim/toy.txt")
    values.update(fields)
    return Source(**values)


def _mirror(tmp_path: Path, data: bytes = DATA) -> Path:
    folder = tmp_path / "mirror"
    (folder / "wordsim").mkdir(parents=True)
    (folder / "wordsim" / "toy.txt").write_bytes(data)
    return folder


def _everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --------------------------------------------------------------------------- fetching


def test_fetch_through_http_mirror_equals_the_folder_copy(tmp_path):
    folder = _mirror(tmp_path)
    with serve(folder) as (url, requests):
        report = fetch_source(_toy(), tmp_path / "http" / "toy.txt", progress=False, mirror_url=url)
    copied = fetch_source(_toy(), tmp_path / "dir" / "toy.txt", folder, progress=False)
    assert (report.origin, report.location, report.verified) == ("mirror", f"{url}wordsim/toy.txt", True)
    assert report.path.read_bytes() == copied.path.read_bytes() == DATA
    assert _everything_under(tmp_path / "http") == ["toy.txt"]
    assert ("GET", "/wordsim/toy.txt") in requests


def test_wrong_hash_over_http_leaves_nothing(tmp_path):
    """Nothing in the destination folder (no partial file, no pooch folder) nor in pooch's cache."""
    modified = DATA.replace(b"3.5", b"3.6", 1)
    with serve(_mirror(tmp_path, modified)) as (url, _):
        with pytest.raises(SourceError) as err:
            fetch_source(_toy(), tmp_path / "out" / "toy.txt", progress=False, mirror_url=url, retries=0)
    message = str(err.value)
    assert "\n" not in message and message.startswith("source toy: sha256 mismatch")
    assert f"expected {hashlib.sha256(DATA).hexdigest()}, got {hashlib.sha256(modified).hexdigest()}" in message
    assert f"{url}wordsim/toy.txt" in message and "mirror_url" in message
    assert _everything_under(tmp_path / "out") == []
    assert _everything_under(tmp_path / "user-cache") == []


def test_missing_file_and_dead_mirror_give_one_line(tmp_path):
    with serve(tmp_path) as (url, _):
        with pytest.raises(SourceError, match=r"HTTP 404 .* for mirror file .*wordsim/toy\.txt") as err:
            fetch_source(_toy(), tmp_path / "out" / "toy.txt", progress=False, mirror_url=url, retries=0)
    assert "\n" not in str(err.value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with pytest.raises(SourceError, match="unreachable") as err:
        fetch_source(_toy(), tmp_path / "out" / "toy.txt", progress=False, mirror_url=dead, retries=0, timeout=5)
    assert "\n" not in str(err.value) and dead in str(err.value)
    assert _everything_under(tmp_path / "out") == []


def test_mirror_dir_and_mirror_url_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        fetch_source(_toy(), tmp_path / "toy.txt", tmp_path, mirror_url="http://127.0.0.1:9/")


# --------------------------------------------------------------------------- what the mirror holds


def test_http_mirror_reads_the_index_when_there_is_one(tmp_path):
    folder = _mirror(tmp_path)
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(DATA).hexdigest()}  ./wordsim/toy.txt\n")
    (folder / "unlisted.txt").write_text("x")
    with serve(folder) as (url, requests):
        mirror = HttpMirror(url)
        assert mirror.has("wordsim/toy.txt") and not mirror.has("unlisted.txt") and not mirror.has("no/such.txt")
    assert requests == [("GET", "/SHA256SUMS")]  # one request for the whole run


def test_http_mirror_without_index_asks_once_per_file(tmp_path):
    with serve(_mirror(tmp_path)) as (url, requests):
        mirror = HttpMirror(url)
        assert mirror.has("wordsim/toy.txt") and mirror.has("wordsim/toy.txt")
        assert not mirror.has("no/such.txt")
    assert requests == [("GET", "/SHA256SUMS"), ("HEAD", "/wordsim/toy.txt"), ("HEAD", "/no/such.txt")]


def test_dead_http_mirror_holds_nothing_and_says_so_once(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        mirror = HttpMirror(f"http://127.0.0.1:{sock.getsockname()[1]}/", timeout=2)
    assert not mirror.has("a.txt") and not mirror.has("b.txt")
    assert capsys.readouterr().err.count("WARNING: mirror_url") == 1


# --------------------------------------------------------------------------- the workflow


# The IAPR TC-12 dataset rule's output (test split, CV: all the mirror has).
IAPR = "results/experiment1/iaprtc12/vgg128/biGRU/dataset.npz"
TABLE2 = "results/tables/table2.csv"


def test_workflow_plans_the_same_jobs_on_the_http_mirror(tmp_path, shared_data):
    """What is at hand on the HTTP mirror is what is at hand in the folder; both set: a config error."""
    with serve(shared_data) as (url, requests):
        by_url = planned_jobs(snakemake(tmp_path, {"mirror_url": url}, "-n", TABLE2, IAPR))
    by_dir = planned_jobs(snakemake(tmp_path, {"mirror_dir": str(shared_data)}, "-n", TABLE2, IAPR))
    assert by_url == by_dir and by_url["benchmark_pairs"] == 6 and by_url["experiment1_authors_csv"] == 1
    assert requests == [("GET", "/SHA256SUMS")]
    both = snakemake(tmp_path, {"mirror_url": url, "mirror_dir": str(shared_data)}, "-n", TABLE2)
    assert both.returncode != 0 and "mirror_dir" in both.stdout + both.stderr and "are both set" in both.stdout + both.stderr


def test_rule_fetches_through_the_http_mirror(tmp_path, shared_data):
    """Fast tier: rule fetch_source on mirror_url gives the mirror folder's bytes."""
    src = load_registry(ROOT / "workflow" / "sources.yaml")["wordsim_men"]
    with serve(shared_data) as (url, requests):
        result = snakemake(tmp_path, {"mirror_url": url}, src.resource_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (tmp_path / src.resource_path).read_bytes() == (shared_data / src.mirror_path).read_bytes()
    assert ("GET", f"/{src.mirror_path}") in requests


def _run(workdir: Path, mirror: dict) -> None:
    workdir.mkdir()
    config = {**mirror, "experiment2": {k: v for k, v in TINY["experiment2"].items() if k != "benchmarks"}}
    result = snakemake(workdir, config, TABLE2, IAPR)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


@pytest.mark.slow  # about 80 s on the 2-core VM (two runs, each loading the 400,000 GloVe words)
def test_http_mirror_run_is_byte_identical_to_the_mirror_dir_run(tmp_path, shared_data):
    """Experiment 2 (the paper's six benchmarks: auto on a mirror) and the IAPR TC-12 dataset rule,
    once on ``mirror_url`` and once on ``mirror_dir``: the same files, byte for byte (every
    fetched source, table, rho file and dataset; not gensim's .kv word-vector file, which
    records the temporary path it was saved under, mirror or not)."""
    with serve(shared_data) as (url, requests):
        _run(tmp_path / "url", {"mirror_url": url})
    _run(tmp_path / "dir", {"mirror_dir": str(shared_data)})
    fetched = {path for method, path in requests if method == "GET" and path != "/SHA256SUMS"}
    assert "/iaprtc12/TS_vis_vgg128.csv" in fetched and "/wordsim/EN-SemSim.txt" in fetched
    outputs = sorted(p.relative_to(tmp_path / "dir") for top in ("results", "resources")
                     for p in (tmp_path / "dir" / top).rglob("*") if p.is_file() and p.suffix != ".kv")
    assert Path(TABLE2) in outputs and Path(IAPR) in outputs and Path("results/tables/table2_long.csv") in outputs
    assert Path("resources/sources/wordsim_semsim/EN-SemSim.txt") in outputs
    for rel in outputs:
        assert (tmp_path / "url" / rel).read_bytes() == (tmp_path / "dir" / rel).read_bytes(), rel
    assert not list((tmp_path / "url").rglob("*.pooch-*")) and not list((tmp_path / "url").rglob("*.part*"))
    assert not (tmp_path / "user-cache" / "pooch").exists()

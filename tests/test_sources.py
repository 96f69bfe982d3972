"""Sources registry and verified fetching: mirror, installed package and (loopback) network routes."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from crossmodal.sources import (
    KINDS,
    FetchReport,
    RegistryError,
    Source,
    SourceError,
    fetch_source,
    load_registry,
    sha256_file,
    source_path,
)

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_PATH = ROOT / "workflow" / "sources.yaml"
HEX64 = set("0123456789abcdef")


@pytest.fixture(scope="module")
def registry() -> dict[str, Source]:
    return load_registry(REGISTRY_PATH)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(name: str = "toy", data: bytes | None = b"toy data\n", **overrides) -> Source:
    """A registry entry built in the test (sha256/size of ``data``; None makes it unverified)."""
    fields = dict(
        name=name,
        kind="file",
        filename="toy.txt",
        description="generated test file",
        licence="CC0-1.0",
        urls=("http://127.0.0.1:9/toy.txt",),
        sha256=_sha(data) if data is not None else None,
        size=len(data) if data is not None else None,
        verified=data is not None,
    )
    fields.update(overrides)
    return Source(**fields)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- the registry


def test_registry_loads_and_every_entry_is_complete(registry):
    assert len(registry) >= 40
    for name, src in registry.items():
        assert src.name == name
        assert src.kind in KINDS
        assert all(u.startswith(("http://", "https://")) for u in src.urls), name
        if not src.urls:  # no public download: say where and how to obtain it
            assert src.kind != "package" and src.homepage and src.note, name
        assert src.licence.strip() and src.description.strip(), name
        assert "/" not in src.filename, name
        assert src.verified == src.upstream_checks.verified, name
        if src.sha256 is not None:
            assert len(src.sha256) == 64 and set(src.sha256) <= HEX64 and src.verified, name
            assert isinstance(src.size, int), name
        if src.kind == "package":
            assert src.package and src.package_path and src.requirement and src.verified, name
            assert src.mirror_path is None, name
        if src.mirror_path is not None:
            assert src.mirror_expected_sha256 is not None and src.mirror_expected_size is not None, name


def test_registry_declares_the_papers_sources(registry):
    needed = {
        "glove_6b": "archive",
        "glove_840b_300d": "archive",
        "word2vec_googlenews": "file",
        "iaprtc12_images": "archive",
        "wikipedia_dataset": "archive",
        "wikipedia_texts": "archive",
        "collell_iaprtc_ts_vis_vgg128": "file",
        "collell_iaprtc_ts_lang_bigru": "file",
        "collell_iaprtc_tr_vis_resnet": "file",
        "collell_wiki_ts_vis_resnet": "file",
        "collell_imagenet_vis_resnet": "file",
        "collell_imagenet_lang_word2vec": "file",
        "wordsim_ws353_all": "file",
        "wordsim_men": "file",
        "wordsim_simlex999": "file",
        "wordsim_simverb3500": "file",
        "wordsim_semsim": "file",
        "wordsim_vissim": "file",
        "glove_6b_50d_emb": "package",
        "glove_6b_50d_index": "package",
        "gensim_wordsim353": "package",
        "gensim_simlex999": "package",
        "timm_imagenet_synsets": "package",
        "timm_imagenet_synset_to_lemma": "package",
        "efficientnet_lite0_weights": "package",
    }
    for name, kind in needed.items():
        assert name in registry, name
        assert registry[name].kind == kind, name
    # The published checksums, and no invented ones.
    published = {
        "glove_6b": ("617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb", 862182613),
        "glove_840b_300d": ("c06db255e65095393609f19a4cfca20bf3a71e20cc53e892aafa490347e3849f", 2176768927),
        "word2vec_googlenews": ("21c05ae916a67a4da59b1d006903355cced7de7da1e42bff9f0504198c748da8", 1647046227),
    }
    for name, (sha256, size) in published.items():
        assert (registry[name].sha256, registry[name].size, registry[name].verified) == (sha256, size, True), name
    assert registry["imagenet_vgg_m_128_mat"].upstream_checks.hashes == ("md5:3a8dc312a44a99d21ad43e8d96a8590f",)
    resnet = registry["torchvision_resnet152_weights"]
    assert resnet.sha256_prefix == "394f9c45" and resnet.sha256_prefix in resnet.filename and not resnet.verified
    assert registry["iaprtc12_images"].sha256 is None and not registry["iaprtc12_images"].verified


# The authors' repository holds these four files at every commit (git ls-tree of each commit).
AUTHORS_FILES = {"TR_vis_vgg128.csv", "TR_lang_biGRU.csv", "TS_vis_vgg128.csv", "TS_lang_biGRU.csv"}


def test_registry_urls_exist_upstream_and_are_pinned(registry):
    """No URL into a file the authors' repository never had; GitHub URLs pinned to a commit."""
    for name, src in registry.items():
        for url in src.urls:
            if "gcollell/neural_cross_modal_maps" in url:
                assert url.rsplit("/", 1)[1] in AUTHORS_FILES, (name, url)
            if "github" in url and src.kind != "package":  # packages' links name release tags
                assert re.search(r"/[0-9a-f]{40}/", url), (name, url)
            assert "azrealwang/sph" not in url or not name.startswith(("wikipedia_categories", "wikipedia_stop")), name
    tr = registry["collell_iaprtc_tr_vis_vgg128"], registry["collell_iaprtc_tr_lang_bigru"]
    assert [s.git_blob_sha1 for s in tr] == ["6c931c8135ad01b2b3afc817f44093a4d2f23155",
                                             "0a08e49eeb04ca699470ad28efd44e89a7fad72e"]
    assert all(s.verified and s.urls for s in tr)
    for name in ("collell_iaprtc_ts_vis_resnet", "collell_iaprtc_tr_vis_resnet", "collell_wiki_ts_vis_vgg128",
                 "collell_imagenet_vis_resnet", "collell_imagenet_lang_word2vec"):
        assert registry[name].urls == () and "homepage" in registry[name].note, name
    pinned = "mfaruqui/eval-word-vectors/94b3dd9fdbac7ed08dbee7179cd5ee464acf0594/"
    assert all(pinned in s.urls[0] for n, s in registry.items() if n.startswith("wordsim_") and "Associative" not in s.urls[0])


def test_source_path(registry):
    assert source_path(registry, "gensim_wordsim353") == "resources/sources/gensim_wordsim353/wordsim353.tsv"
    with pytest.raises(RegistryError, match="no_such_source"):
        source_path(registry, "no_such_source")


GOOD_ENTRY = """\
sources:
  toy:
    kind: file
    filename: toy.txt
    description: a toy
    licence: CC0-1.0
    urls: [https://example.org/toy.txt]
    sha256: null
    size: null
    verified: false
"""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "    colour: red\n", "unknown field"),
        (lambda t: t.replace("kind: file", "kind: torrent"), "unknown kind 'torrent'"),
        (lambda t: t.replace("    licence: CC0-1.0\n", ""), "missing field"),
        (lambda t: t.replace("sha256: null", "sha256: abc"), "sha256 must be 64"),
        (lambda t: t.replace("verified: false", "verified: true"), "verified must be true exactly"),
        (lambda t: t.replace("urls: [https://example.org/toy.txt]", "urls: []"), "urls"),
        (lambda t: t + "    md5: abc\n", "md5 must be 32"),
        (lambda t: t + "    sha256_prefix: 39f\n", "sha256_prefix must be 8 to 63"),
        (lambda t: t.replace("sha256: null", "sha256: '" + "0" * 64 + "'").replace("size: null", "size: 1")
         .replace("verified: false", "verified: true") + "    sha256_prefix: 0000000a\n", "drop the prefix"),
        (lambda t: t + "    sha1: '" + "0" * 40 + "'\n", "verified must be true exactly"),
        (lambda t: t + "    package: gensim\n", "takes no package"),
        (lambda t: t + "    mirror_sha256: '" + "0" * 64 + "'\n", "need mirror_path"),
        (lambda t: t + "    mirror_path: ../escape.txt\n", "without '..'"),
        (lambda t: t + "  toy:\n    kind: file\n", "duplicate key"),
    ],
    ids=["unknown-field", "unknown-kind", "missing", "bad-sha", "verified-without-sha", "no-urls",
         "bad-md5", "short-prefix", "prefix-and-sha256", "sha1-unverified",
         "package-field-on-file", "mirror-sha-without-path", "dotdot", "duplicate"],
)
def test_registry_rejects_bad_entries_naming_them(tmp_path, edit, message):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD_ENTRY)
    assert list(load_registry(path)) == ["toy"]
    path.write_text(edit(GOOD_ENTRY))
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert "source toy:" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "extra",
    [
        "    md5: 3a8dc312a44a99d21ad43e8d96a8590f\n",
        "    sha1: 6c931c8135ad01b2b3afc817f44093a4d2f23155\n",
        "    git_blob_sha1: 6c931c8135ad01b2b3afc817f44093a4d2f23155\n",
    ],
    ids=["md5", "sha1", "git-blob"],
)
def test_registry_accepts_each_published_hash_kind(tmp_path, extra):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD_ENTRY.replace("verified: false", "verified: true") + extra)
    toy = load_registry(path)["toy"]
    assert toy.verified and toy.upstream_checks.verified
    prefix = GOOD_ENTRY + "    sha256_prefix: 394f9c45\n"  # a partial check: stays unverified
    path.write_text(prefix)
    assert load_registry(path)["toy"].upstream_checks.sha256_prefix == "394f9c45"


def test_registry_entry_without_download_needs_homepage_and_note(tmp_path):
    path = tmp_path / "sources.yaml"
    bare = GOOD_ENTRY.replace("urls: [https://example.org/toy.txt]", "urls: []")
    path.write_text(bare + "    homepage: https://example.org/\n")
    with pytest.raises(RegistryError, match="needs a homepage and a note"):
        load_registry(path)
    path.write_text(bare + "    homepage: https://example.org/\n    note: ask the authors\n")
    assert load_registry(path)["toy"].urls == ()


def test_mirror_checksums_match_the_shared_data(registry, shared_data):
    """Every file of the offline mirror is registered, with the checksum it really has."""
    mirrored = {src.mirror_path: src for src in registry.values() if src.mirror_path}
    files = sorted(
        p.relative_to(shared_data).as_posix()
        for p in shared_data.rglob("*")
        if p.is_file() and p.name not in ("README.md", "SHA256SUMS")
    )
    assert files, f"no data files under {shared_data}"
    assert sorted(mirrored) == files
    sums = {}
    for line in (shared_data / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        sums[rel.removeprefix("./")] = digest
    for rel, src in mirrored.items():
        path = shared_data / rel
        assert sha256_file(path) == src.mirror_expected_sha256 == sums[rel], src.name
        assert path.stat().st_size == src.mirror_expected_size, src.name


def test_package_entries_match_the_installed_files(registry):
    checked = 0
    for src in registry.values():
        if src.kind != "package":
            continue
        spec = importlib.util.find_spec(src.package)
        if spec is None:
            continue  # not installed here: fetching it would fail with "pip install <requirement>"
        path = Path(next(iter(spec.submodule_search_locations))) / src.package_path
        assert path.is_file(), f"{src.name}: {path} missing"
        assert path.stat().st_size == src.size and sha256_file(path) == src.sha256, src.name
        checked += 1
    assert checked, "no package source installed"


# --------------------------------------------------------------------------- mirror route


def test_fetch_from_mirror(registry, shared_data, tmp_path):
    src = registry["wordsim_ws353_all"]
    report = fetch_source(src, tmp_path / "out" / src.filename, shared_data, progress=False)
    assert isinstance(report, FetchReport)
    assert (report.origin, report.verified, report.warnings) == ("mirror", True, [])
    assert (tmp_path / "out" / src.filename).read_bytes() == (shared_data / src.mirror_path).read_bytes()
    assert _leftovers(tmp_path / "out") == [src.filename]


def test_fetch_into_a_directory_uses_the_registered_filename(tmp_path):
    data = b"a\tb\t1.0\n"
    (tmp_path / "mirror" / "toy").mkdir(parents=True)
    (tmp_path / "mirror" / "toy" / "toy.txt").write_bytes(data)
    (tmp_path / "out").mkdir()
    report = fetch_source(_entry(data=data), tmp_path / "out", tmp_path / "mirror", progress=False)
    assert report.path == tmp_path / "out" / "toy.txt" and report.path.read_bytes() == data


def test_missing_mirror_file_names_the_expected_path(tmp_path):
    src = _entry(mirror_path="sub/toy.txt")
    out = tmp_path / "out"
    with pytest.raises(SourceError) as err:
        fetch_source(src, out / "toy.txt", tmp_path / "mirror", progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("source toy:")
    assert str(tmp_path / "mirror" / "sub" / "toy.txt") in message
    assert "mirror_dir" in message and src.urls[0] in message
    assert _leftovers(out) == []


def test_mirror_checksum_mismatch_leaves_nothing(tmp_path):
    data = b"word1\tword2\t3.5\n" * 50
    src = _entry(data=data, mirror_path="wordsim/toy.txt")
    mirror = tmp_path / "mirror"
    (mirror / "wordsim").mkdir(parents=True)
    modified = data.replace(b"3.5", b"3.6", 1)  # same size, different bytes
    (mirror / "wordsim" / "toy.txt").write_bytes(modified)
    out = tmp_path / "out"
    with pytest.raises(SourceError) as err:
        fetch_source(src, out / "toy.txt", mirror, progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert f"expected {_sha(data)}" in message and f"got {_sha(modified)}" in message
    assert str(mirror / "wordsim" / "toy.txt") in message
    assert _leftovers(out) == []


def test_mirror_size_mismatch_leaves_nothing(tmp_path):
    data = b"0123456789"
    src = _entry(data=data, mirror_path="toy.txt")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "toy.txt").write_bytes(data + b"extra")
    with pytest.raises(SourceError, match="expected 10 bytes, got 15"):
        fetch_source(src, tmp_path / "out" / "toy.txt", tmp_path / "mirror", progress=False)
    assert _leftovers(tmp_path / "out") == []


def test_mirror_copy_with_its_own_checksum(tmp_path):
    """A repack: no upstream checksum, but the mirror copy is verified against mirror_sha256."""
    data = b"repacked"
    src = _entry(data=None, mirror_path="toy.txt", mirror_sha256=_sha(data), mirror_size=len(data), mirror_only=True)
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "toy.txt").write_bytes(data)
    report = fetch_source(src, tmp_path / "out" / "toy.txt", tmp_path / "mirror", progress=False)
    assert report.verified and not report.warnings
    with pytest.raises(SourceError, match="mirror repack"):  # and there is no network route
        fetch_source(src, tmp_path / "out2" / "toy.txt", None, progress=False)
    assert _leftovers(tmp_path / "out2") == []


# --------------------------------------------------------------------------- package route


def test_fetch_from_package_gensim(registry, tmp_path):
    if importlib.util.find_spec("gensim") is None:
        pytest.skip("gensim is not installed")
    src = registry["gensim_wordsim353"]
    report = fetch_source(src, tmp_path / src.filename, progress=False)
    assert (report.origin, report.verified, report.sha256, report.size) == ("package", True, src.sha256, src.size)
    installed = Path(next(iter(importlib.util.find_spec("gensim").submodule_search_locations))) / src.package_path
    assert (tmp_path / src.filename).read_bytes() == installed.read_bytes()


def test_missing_package_says_what_to_install(tmp_path):
    src = _entry(
        kind="package", package="crossmodal_no_such_package", package_path="data/x.bin",
        requirement="crossmodal-no-such-package==1.0",
    )
    with pytest.raises(SourceError, match=r"not installed\. To provide it: pip install crossmodal-no-such-package==1\.0"):
        fetch_source(src, tmp_path / "out" / "x.bin", progress=False)
    assert _leftovers(tmp_path / "out") == []


# --------------------------------------------------------------------------- network route (loopback)

BODY = bytes(range(256)) * 64  # 16 KiB
CORRUPT = BODY[:100] + bytes([BODY[100] ^ 0xFF]) + BODY[101:]


class _Handler(http.server.BaseHTTPRequestHandler):
    flaky_calls = 0

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path == "/good.bin":
            self._send(BODY)
        elif self.path == "/flaky.bin":  # fails once, then serves the file
            type(self).flaky_calls += 1
            if type(self).flaky_calls == 1:
                self.send_error(503)
            else:
                self._send(BODY)
        elif self.path == "/corrupt.bin":
            self._send(CORRUPT)
        elif self.path == "/truncated.bin":  # promise the whole body, send a third, hang up
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 3])
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/login.bin":
            self._send(b"<html><body>please log in</body></html>", "text/html; charset=utf-8")
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-listens-here.bin"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _net_entry(*urls: str, data: bytes | None = BODY) -> Source:
    return _entry(data=data, filename="blob.bin", urls=tuple(urls))


def test_network_good_file(server, tmp_path):
    out = tmp_path / "out"
    report = fetch_source(_net_entry(f"{server}/good.bin"), out / "blob.bin", progress=False)
    assert (report.origin, report.location, report.verified) == ("network", f"{server}/good.bin", True)
    assert (out / "blob.bin").read_bytes() == BODY
    assert _leftovers(out) == ["blob.bin"]


def test_network_corrupted_file(server, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SourceError) as err:
        fetch_source(_net_entry(f"{server}/corrupt.bin"), out / "blob.bin", progress=False, retries=0)
    message = str(err.value)
    assert "\n" not in message
    assert f"expected {_sha(BODY)}, got {_sha(CORRUPT)}" in message and f"{server}/corrupt.bin" in message
    assert _leftovers(out) == []


@pytest.mark.parametrize("known", [True, False], ids=["verified", "unverified"])
def test_network_truncated_transfer(server, tmp_path, known):
    """Caught by the Content-Length check even when there is no checksum to compare."""
    out = tmp_path / "out"
    with pytest.raises(SourceError, match="truncated transfer"):
        fetch_source(_net_entry(f"{server}/truncated.bin", data=BODY if known else None), out / "blob.bin",
                     progress=False, retries=0)
    assert _leftovers(out) == []


def test_network_unreachable_url(closed_port_url, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SourceError) as err:
        fetch_source(_net_entry(closed_port_url), out / "blob.bin", progress=False, timeout=5, retries=0)
    message = str(err.value)
    assert "\n" not in message
    assert closed_port_url in message and "unreachable" in message and "mirror_dir" in message
    assert _leftovers(out) == []


def test_network_html_page_is_not_the_file(server, tmp_path):
    with pytest.raises(SourceError, match="HTML page"):
        fetch_source(_net_entry(f"{server}/login.bin", data=None), tmp_path / "out" / "blob.bin", progress=False)
    assert _leftovers(tmp_path / "out") == []


def test_network_tries_urls_in_order(server, closed_port_url, tmp_path):
    urls = (closed_port_url, f"{server}/corrupt.bin", f"{server}/missing.bin", f"{server}/good.bin")
    report = fetch_source(_net_entry(*urls), tmp_path / "blob.bin", progress=False, timeout=5, retries=0)
    assert report.location == f"{server}/good.bin" and (tmp_path / "blob.bin").read_bytes() == BODY
    with pytest.raises(SourceError) as err:
        fetch_source(_net_entry(*urls[:3]), tmp_path / "out" / "blob.bin", progress=False, timeout=5, retries=0)
    message = str(err.value)
    assert "all 3 URL(s)" in message and "HTTP 404" in message and "sha256 mismatch" in message
    assert message.index(closed_port_url) < message.index("/corrupt.bin") < message.index("/missing.bin")
    assert _leftovers(tmp_path / "out") == []


def test_unverified_source_prints_the_warning(server, tmp_path, capsys):
    report = fetch_source(_net_entry(f"{server}/good.bin", data=None), tmp_path / "blob.bin", progress=False)
    warning = "WARNING: source toy is UNVERIFIED (no published checksum)"
    assert warning in capsys.readouterr().err
    assert report.verified is False and report.warnings == [warning]
    assert report.sha256 == _sha(BODY) and (tmp_path / "blob.bin").read_bytes() == BODY


def test_progress_bar_goes_to_stderr(server, tmp_path, capsys):
    fetch_source(_net_entry(f"{server}/good.bin"), tmp_path / "blob.bin", progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "toy" in captured.err


def test_network_retries_a_failed_attempt(server, tmp_path):
    """pooch's retry_if_failed: the first request gets HTTP 503, the retry the file."""
    _Handler.flaky_calls = 0
    report = fetch_source(_net_entry(f"{server}/flaky.bin"), tmp_path / "blob.bin", progress=False, retries=1)
    assert report.verified and (tmp_path / "blob.bin").read_bytes() == BODY and _Handler.flaky_calls == 2


def _hash_entry(server: str, **checks) -> Source:
    """An entry for /good.bin checked only by ``checks`` (md5=..., sha1=..., sha256_prefix=..., ...)."""
    return _entry(data=None, filename="blob.bin", urls=(f"{server}/good.bin",), size=len(BODY),
                  verified=any(k != "sha256_prefix" for k in checks), **checks)


@pytest.mark.parametrize(
    ("checks", "verified"),
    [
        ({"md5": hashlib.md5(BODY).hexdigest()}, True),
        ({"sha1": hashlib.sha1(BODY).hexdigest()}, True),
        ({"git_blob_sha1": hashlib.sha1(b"blob %d\0" % len(BODY) + BODY).hexdigest()}, True),
        ({"sha256_prefix": _sha(BODY)[:8]}, False),
    ],
    ids=["md5", "sha1", "git-blob", "sha256-prefix"],
)
def test_network_checks_each_published_hash_kind(server, tmp_path, capsys, checks, verified):
    report = fetch_source(_hash_entry(server, **checks), tmp_path / "blob.bin", progress=False)
    assert (report.verified, report.sha256, (tmp_path / "blob.bin").read_bytes()) == (verified, _sha(BODY), BODY)
    if not verified:  # a prefix is a partial check, and says so
        assert report.warnings == [f"WARNING: source toy is checked against a sha256 prefix only ({_sha(BODY)[:8]})"]
        assert report.warnings[0] in capsys.readouterr().err
    wrong = {key: ("0" * len(value)) for key, value in checks.items()}
    out = tmp_path / "out"
    with pytest.raises(SourceError) as err:
        fetch_source(_hash_entry(server, **wrong), out / "blob.bin", progress=False, retries=0)
    message = str(err.value)
    assert "\n" not in message and "mismatch: expected 0000" in message and f"{server}/good.bin" in message
    assert _leftovers(out) == []


def test_entry_without_public_download_says_how_to_obtain_it(tmp_path):
    src = _entry(urls=(), homepage="https://example.org/data", note="ask the authors")
    with pytest.raises(SourceError) as err:
        fetch_source(src, tmp_path / "out" / "toy.txt", progress=False)
    message = str(err.value)
    assert "\n" not in message and "no public download is known (ask the authors)" in message
    assert "https://example.org/data" in message and "mirror_dir" in message and "mirror_url" in message
    assert _leftovers(tmp_path / "out") == []


# --------------------------------------------------------------------------- the Snakemake rule


@pytest.fixture(scope="module")
def snakemake_exe() -> str:
    exe = Path(sys.executable).parent / "snakemake"
    if not exe.exists():
        found = shutil.which("snakemake")
        if found is None:
            pytest.skip("snakemake is not installed")
        exe = Path(found)
    return str(exe)


def _run_snakemake(snakemake_exe: str, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text("{}\n")  # the embedded defaults
    return subprocess.run(
        [snakemake_exe, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "-c1", *args],
        capture_output=True, text=True, timeout=120,
    )


def test_rule_fetches_a_source_and_refuses_a_wrong_filename(snakemake_exe, tmp_path, registry):
    """One real run of rule fetch_source (-k): a package source succeeds; a filename that the
    registry does not give that source fails with the reason in the log, leaving no output."""
    if importlib.util.find_spec("gensim") is None:
        pytest.skip("gensim is not installed")
    src = registry["gensim_wordsim353"]
    wrong = "resources/sources/wordsim_ws353_all/EN-MC-30.txt"
    proc = _run_snakemake(snakemake_exe, tmp_path, "-k", src.resource_path, wrong)
    assert proc.returncode != 0  # the wrong filename fails ...
    assert sha256_file(tmp_path / src.resource_path) == src.sha256  # ... the other job still ran
    log = (tmp_path / "logs" / "sources" / src.name / f"{src.filename}.log").read_text()
    assert '"verified": true' in log
    assert not (tmp_path / wrong).exists()
    log = (tmp_path / "logs/sources/wordsim_ws353_all/EN-MC-30.txt.log").read_text()
    assert "registry names it 'EN-WS-353-ALL.txt'" in log

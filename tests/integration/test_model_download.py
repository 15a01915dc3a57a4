"""``voice-coach model download|list`` against a local HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "vosk-model-small-en-us-0.15"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def make_zip(path: Path, top: str = NAME, evil: bool = False) -> bytes:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{top}/am/final.mdl", b"\0" * 50_000)
        z.writestr(f"{top}/conf/model.conf", "--beam=10.0\n")
        z.writestr(f"{top}/graph/phones.txt", "SIL 1\n")
        z.writestr(f"{top}/README", "test model\n")
        if evil:
            z.writestr("../../escaped.txt", "outside")
    return path.read_bytes()


class Server:
    """Serves model-list.json and zips, honouring Range; records the Range headers it saw."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.ranges = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                outer.ranges.append(rng)
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                    body = body[start:]
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    data = make_zip(tmp_path / "m.zip")
    evil = make_zip(tmp_path / "e.zip", top="vosk-model-evil", evil=True)
    listing = [
        {"name": NAME, "url": "", "md5": hashlib.md5(data).hexdigest(), "size": len(data), "lang": "en-us", "type": "small"},
        {"name": "vosk-model-bad-md5", "url": "", "md5": "0" * 32, "size": len(data), "lang": "en-us", "type": "small"},
        {"name": "vosk-model-evil", "url": "", "md5": hashlib.md5(evil).hexdigest(), "size": len(evil), "lang": "en", "type": "small"},
    ]
    server = Server({"model-list.json": json.dumps(listing).encode(), f"{NAME}.zip": data,
                     "vosk-model-bad-md5.zip": data, "vosk-model-evil.zip": evil})
    server.data = data
    for entry in listing:  # the list gives full URLs in the real world
        entry["url"] = f"{server.url}/{entry['name']}.zip"
    server.files["model-list.json"] = json.dumps(listing).encode()
    yield server
    server.close()


def models_dir() -> Path:
    from voice_coach import paths

    return paths.user_models_dir()


def test_download_installs_the_default_model_and_list_shows_it(served):
    r = cli("model", "download", "--url-base", served.url)
    assert r.returncode == 0, r.stderr
    target = models_dir() / NAME
    assert (target / "am" / "final.mdl").stat().st_size == 50_000
    assert not list(models_dir().glob(".*"))  # no part file or staging folder left behind
    r = cli("model", "list", "--json")
    assert r.returncode == 0
    found = json.loads(r.stdout)
    assert {"engine": "vosk", "name": NAME, "language": "en", "path": str(target)} in found
    assert any(m["engine"] == "whisper" for m in found)


def test_download_resumes_with_a_range_request(served):
    d = models_dir()
    d.mkdir(parents=True)
    (d / f".{NAME}.zip.part").write_bytes(served.data[:10_000])
    r = cli("model", "download", NAME, "--url-base", served.url)
    assert r.returncode == 0, r.stderr
    assert "bytes=10000-" in served.ranges
    assert (d / NAME / "conf" / "model.conf").is_file()


def test_a_damaged_download_is_refused_and_deleted(served):
    r = cli("model", "download", "vosk-model-bad-md5", "--url-base", served.url)
    assert r.returncode != 0 and "damaged" in r.stderr and "Traceback" not in r.stderr
    assert not (models_dir() / "vosk-model-bad-md5").exists()
    assert not (models_dir() / ".vosk-model-bad-md5.zip.part").exists()


def test_an_archive_entry_escaping_the_target_is_refused(served, tmp_path):
    r = cli("model", "download", "vosk-model-evil", "--url-base", served.url)
    assert r.returncode != 0 and "refusing entry" in r.stderr
    assert not (models_dir() / "vosk-model-evil").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_unknown_model_name_lists_what_exists(served):
    r = cli("model", "download", "vosk-model-nope", "--url-base", served.url)
    assert r.returncode != 0 and "no model named" in r.stderr and NAME in r.stderr


def test_unreachable_server_says_so_and_names_the_whisper_fallback():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("model", "download", "--url-base", f"http://127.0.0.1:{port}")
    assert r.returncode != 0
    assert "cannot reach" in r.stderr and "Whisper" in r.stderr and "Traceback" not in r.stderr

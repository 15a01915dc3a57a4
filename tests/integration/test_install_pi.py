"""scripts/install-pi.sh refuses a 32-bit system before it changes anything (issue 16).

``uname`` and ``getconf`` are replaced by small scripts first on PATH, as a 32-bit Raspberry Pi
OS (armv7l, or a 64-bit kernel under a 32-bit userland) would answer them. The whole install on a
real arm64 system is scripts/check-arm64's job (emulated, as root, not in CI).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_as(tmp_path: Path, machine: str, bits: str) -> subprocess.CompletedProcess:
    fake = tmp_path / f"bin-{machine}-{bits}"
    fake.mkdir()
    for name, answer in (("uname", machine), ("getconf", bits)):
        (fake / name).write_text(f"#!/bin/sh\necho {answer}\n")
        (fake / name).chmod(0o755)
    (fake / "sudo").write_text("#!/bin/sh\necho sudo must not be reached >&2; exit 99\n")
    (fake / "sudo").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(ROOT / "scripts" / "install-pi.sh"), "--no-service"], capture_output=True,
                          text=True, timeout=60, env=env)


def test_a_32_bit_system_is_refused_with_a_clear_message(tmp_path):
    for machine, bits in (("armv7l", "32"), ("aarch64", "32")):  # 32-bit OS; 64-bit kernel, 32-bit userland
        p = run_as(tmp_path, machine, bits)
        assert p.returncode == 1, p.stderr
        assert "voice-coach needs 64-bit Raspberry Pi OS" in p.stderr and f"{bits}-bit {machine}" in p.stderr
        assert "sudo must not be reached" not in p.stderr and p.stdout == ""


def test_a_64_bit_system_passes_the_check(tmp_path):
    p = run_as(tmp_path, "aarch64", "64")
    assert "64-bit Raspberry Pi OS" not in p.stderr
    if os.geteuid() == 0:  # the next check: not as root
        assert p.returncode == 1 and "not as root" in p.stderr
    else:  # on to apt-get through sudo (the fake one stops it there)
        assert p.returncode == 99 and "sudo must not be reached" in p.stderr

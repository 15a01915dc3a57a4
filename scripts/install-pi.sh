#!/usr/bin/env bash
# Put voice-coach on a Raspberry Pi (64-bit Raspberry Pi OS / Debian bookworm arm64) as an
# always-on speaker. 32-bit systems are refused: numpy, ctranslate2, onnxruntime and
# webrtcvad-wheels publish no armv7 wheels.
#
#   git clone <this repository> ~/voice-coach && cd ~/voice-coach && scripts/install-pi.sh
#
# Installs the Debian packages, a virtualenv with voice-coach in it, the systemd *user* service
# (started now and at every boot, even with nobody logged in; skipped with a note where systemd
# is not running, e.g. in a chroot), and adds you to the audio group.
# Run it as your normal user (it uses sudo for apt, usermod and loginctl). Safe to run again.
#
# Options:  --no-service   install only; do not enable or start the service
# Env:      VOICE_COACH_VENV  where the venv goes (default ~/.local/share/voice-coach/venv)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VOICE_COACH_VENV:-$HOME/.local/share/voice-coach/venv}"
UNIT_DIR="$HOME/.config/systemd/user"
SERVICE=1
# libatomic1: libvosk.so needs libatomic.so.1, which a minimal bookworm arm64 lacks (found by ldd
# in scripts/check-arm64). Keep docs/raspberry-pi.md's list the same as this one.
APT_PACKAGES=(python3 python3-venv python3-pip libportaudio2 libasound2-plugins alsa-utils
              pulseaudio-utils espeak-ng libespeak-ng1 sox libatomic1)

for arg in "$@"; do
    case "$arg" in
        --no-service) SERVICE=0 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "install-pi: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n== %s\n' "$*"; }

arch="$(uname -m)"
bits="$(getconf LONG_BIT 2>/dev/null || echo unknown)"
if [[ $arch != aarch64 && $arch != x86_64 ]] || [[ $bits != 64 ]]; then
    echo "install-pi: this is a ${bits}-bit $arch system; voice-coach needs 64-bit Raspberry Pi OS (arm64," \
         "Raspberry Pi 3, 4 or 5): numpy, ctranslate2 and onnxruntime publish no 32-bit ARM wheels." \
         "Flash the 64-bit image with Raspberry Pi Imager and run this again." >&2
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    echo "install-pi: run this as the user who will hear the coach, not as root (it uses sudo itself)." >&2
    exit 1
fi

say "Debian packages: ${APT_PACKAGES[*]}"
sudo apt-get update
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"

python3 - <<'PY' || { echo "install-pi: voice-coach needs Python 3.11 or newer (bookworm has 3.11)." >&2; exit 1; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 11) else 1)
PY

say "virtualenv in $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip wheel
"$VENV/bin/pip" install "$REPO"
"$VENV/bin/voice-coach" --version
say "speech model (one download, then everything runs offline)"
"$VENV/bin/voice-coach" model download || echo "model download failed: run '$VENV/bin/voice-coach model download' when online"

say "audio group (access to sound devices)"
if id -nG "$USER" | tr ' ' '\n' | grep -qx audio; then
    echo "$USER is already in the audio group"
else
    sudo usermod -aG audio "$USER"
    echo "added $USER to the audio group: log out and in (or reboot) for it to apply"
fi

if [[ $SERVICE -eq 1 && ! -d /run/systemd/system ]]; then
    say "systemd user service: skipped"
    echo "systemd is not running here (a container or chroot?): no service installed. On the Pi itself run"
    echo "  $REPO/scripts/install-pi.sh   again, or start a session by hand: $VENV/bin/voice-coach serve"
    SERVICE=0
fi
if [[ $SERVICE -eq 1 ]]; then
    say "systemd user service"
    mkdir -p "$UNIT_DIR"
    sed "s|%h/.local/share/voice-coach/venv|$VENV|; s|%h/voice-coach|$REPO|" \
        "$REPO/scripts/voice-coach.service" > "$UNIT_DIR/voice-coach.service"
    systemctl --user daemon-reload
    systemctl --user enable --now voice-coach.service
    # Without lingering, user services stop at logout and do not start at boot.
    sudo loginctl enable-linger "$USER"
    systemctl --user --no-pager status voice-coach.service || true
fi

say "pick the USB microphone and speaker"
cat <<HINTS
Sound cards the system sees:
$(arecord -l 2>/dev/null | grep '^card' || echo "  (no capture devices found: is the USB microphone plugged in?)")
$(aplay -l 2>/dev/null | grep '^card' || echo "  (no playback devices found)")

Devices as voice-coach (PortAudio) sees them:
$("$VENV/bin/voice-coach" devices 2>/dev/null || echo "  (could not list: is a sound server running for $USER?)")

Pick them by a part of their name (or the index above), e.g.:
  $VENV/bin/voice-coach config set hearing.input_device "USB"
  $VENV/bin/voice-coach config set speech.output_device "USB"
  systemctl --user restart voice-coach
Many USB microphones only record at 44.1 or 48 kHz; voice-coach resamples, no setting needed.
Echo (the coach hearing itself): see docs/raspberry-pi.md, "Echo cancellation".

Next steps:
  $VENV/bin/voice-coach schedule add evening-back-relief --daily 20:00
  $VENV/bin/voice-coach schedule list
  journalctl --user -u voice-coach -f
HINTS

#!/usr/bin/env bash
# Installs what LiveRelay needs to build, run and test. Idempotent: packages already present are skipped.
set -euo pipefail

DEB_PACKAGES=(
  pkg-config
  libsrtp2-dev libssl-dev libopus-dev libvpx-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  libsqlite3-dev
  ffmpeg
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  postgresql
  iproute2 nftables conntrack
  wrk nginx-light
  chromium chromium-driver firefox-esr fonts-noto-color-emoji
)
PIP_PACKAGES=(aiortc selenium mpegdash)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${LIVERELAY_SKIP_PIP:-0}" != "1" ]; then
  need_pip=()
  for p in "${PIP_PACKAGES[@]}"; do
    python3 -m pip show -q "$p" >/dev/null 2>&1 || need_pip+=("$p")
  done
  if ((${#need_pip[@]})); then
    echo "setup: pip installing ${need_pip[*]}"
    python3 -m pip install -q "${need_pip[@]}"
  fi
fi

# Browser player libraries for the pages (hls.js, Video.js), from pinned PyPI packages; honours LIVERELAY_SKIP_PIP.
# A failure here leaves the pages without them (they say so) and does not stop the build or the tests.
"$(dirname "$0")/setup_players.sh" || echo "setup: browser player libraries not installed (see above); the pages will say so"

#!/usr/bin/env bash
# Puts the browser player libraries the pages use into signaling/vendor/ (ignored by git): hls.js for HLS and
# LL-HLS, Video.js (whose http-streaming engine plays DASH and HLS) for DASH. Both come out of pinned PyPI packages
# fetched with pip into ~/.cache/liverelay/players (kept across clones); no npm, and no third-party code in the repository. Every archive and
# every file taken out of it is checked against the sha256 pinned below. Idempotent: a library whose files are
# present with the pinned sums is left alone. LIVERELAY_SKIP_PIP=1 skips the whole step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/signaling/vendor"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/liverelay/players"
APACHE_2_0=/usr/share/common-licenses/Apache-2.0   # Debian's copy (base-files)

# hls.js 1.5.13 (Apache-2.0). No PyPI package ships upstream's dist files; gradio's frontend carries hls.js as a
# self-contained ES module (no imports) whose one export, `H`, is the Hls class:
#   const { H: Hls } = await import("…/vendor/hls.esm.min.js");
HLS_PACKAGE="gradio==5.50.0"
HLS_ARCHIVE="gradio-5.50.0-py3-none-any.whl"
HLS_ARCHIVE_SHA256="d06770d57cdda9b703ef9cf767ac93a890a0e12d82679a310eef74203a3673f4"
HLS_MEMBER="gradio/templates/frontend/assets/hls-C7-VjdhD.js"
HLS_FILE="hls.esm.min.js"
HLS_SHA256="b509ec5eb3c3c83b307772b05744b1574017a030a9f761f3b431a36c5fa43984"
HLS_LICENSE="hls.LICENSE.txt"

# Video.js 7.5.5 (Apache-2.0) with @videojs/http-streaming 1.9.3 (DASH and HLS over MSE), the UMD build that sets
# window.videojs, and its stylesheet (the icon font is inlined). The package is an sdist: pip prepares its metadata
# (its setup.py) once the archive has passed the hash check; nothing of it is built or installed.
VJS_PACKAGE="js.videojs==7.5.5"
VJS_ARCHIVE="js.videojs-7.5.5.tar.gz"
VJS_ARCHIVE_SHA256="4b2c2ebf62441fb62a3f77c53c331988f251237f38f6e77db280a6395e04885f"
VJS_DIR="js.videojs-7.5.5/js/videojs/resources"
VJS_FILE="video.min.js"
VJS_SHA256="9fc57b49cdcfa478396b186bdd03fdaa108b8975e58d156f41bc011056388728"
VJS_CSS_FILE="video-js.min.css"
VJS_CSS_SHA256="4c92903d5602f1c1419e9c647f0db022d425efaaa580d9849e9b6132cb1020f6"
VJS_SOURCE_SHA256="9510d166856326b5af350220d140ed0ad4f51ccf9e91a4337fc3bb3afedec502"   # video.js: notices only
VJS_LICENSE="video.LICENSE.txt"

if [ "${LIVERELAY_SKIP_PIP:-0}" = "1" ]; then
  echo "setup_players: LIVERELAY_SKIP_PIP=1, browser player libraries (hls.js, Video.js) not fetched"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
has_sum() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }
up_to_date() {   # license file, then pairs of file and sha256
  [ -s "$VENDOR/$1" ] || return 1
  shift
  while (($#)); do has_sum "$VENDOR/$1" "$2" || return 1; shift 2; done
}

# Leaves the pinned archive of a package in the cache and prints its path; downloads it only when missing or wrong.
fetch() {   # package==version, archive name, sha256
  local archive="$CACHE/$2" got
  if has_sum "$archive" "$3"; then echo "$archive"; return; fi
  mkdir -p "$CACHE"
  # pip checks the archive against the pinned sum (hash-checking mode) before it reads or runs anything in it. An
  # sdist's metadata is prepared before it is saved: in an isolated build, else with the local setuptools and wheel.
  echo "$1 --hash=sha256:$3" >"$work/requirement.txt"
  local try
  for try in "" --no-build-isolation; do
    rm -rf "$work/download"; mkdir "$work/download"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip download -q --no-deps --no-input --disable-pip-version-check $try \
      -d "$work/download" -r "$work/requirement.txt" >>"$work/pip.log" 2>&1 && break
    [ -n "$try" ] && { cat "$work/pip.log" >&2; echo "setup_players: pip download $1 failed" >&2; exit 1; }
  done
  got="$(find "$work/download" -maxdepth 1 -type f | head -n 1)"
  if [ -z "$got" ] || [ "$(sha_of "$got")" != "$3" ]; then
    echo "setup_players: $1 downloaded as ${got##*/} with sha256 ${got:+$(sha_of "$got")}, expected $3" >&2
    exit 1
  fi
  mv "$got" "$archive.part" && mv "$archive.part" "$archive"
  echo "$archive"
}

# Copies one member of a wheel (zip) or sdist (tar) to a file, then checks its sha256.
extract() {   # archive, member, destination, sha256
  python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, tarfile, zipfile
archive, member, destination = sys.argv[1:]
if zipfile.is_zipfile(archive):
    with zipfile.ZipFile(archive) as z, z.open(member) as source, open(destination, "wb") as out:
        shutil.copyfileobj(source, out)
else:
    with tarfile.open(archive) as t:
        source = t.extractfile(member)
        if source is None:
            sys.exit(f"{member} is not a file in {archive}")
        with source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out)
PY
  if [ "$(sha_of "$3")" != "$4" ]; then
    echo "setup_players: ${1##*/}:$2 has sha256 $(sha_of "$3"), expected $4" >&2
    exit 1
  fi
}

# Moves the checked files of one library into signaling/vendor/, each by rename, so a page never sees half a file.
place() { mkdir -p "$VENDOR"; for f in "$@"; do mv -f "$work/$f" "$VENDOR/$f"; done; }

require_apache_text() {
  [ -s "$APACHE_2_0" ] || { echo "setup_players: $APACHE_2_0 (Debian's base-files) is missing" >&2; exit 1; }
}

if ! up_to_date "$HLS_LICENSE" "$HLS_FILE" "$HLS_SHA256"; then
  require_apache_text
  archive="$(fetch "$HLS_PACKAGE" "$HLS_ARCHIVE" "$HLS_ARCHIVE_SHA256")"
  extract "$archive" "$HLS_MEMBER" "$work/$HLS_FILE" "$HLS_SHA256"
  {
    cat <<EOF
$HLS_FILE: hls.js 1.5.13 <https://github.com/video-dev/hls.js>, the ES module build as bundled in the PyPI
package $HLS_PACKAGE ($HLS_MEMBER), not modified.

hls.js: Copyright (c) 2017 Dailymotion (http://www.dailymotion.com)
Licensed under the Apache License, Version 2.0 (full text below).

src/remux/mp4-generator.js and src/demux/exp-golomb.ts in hls.js are derived from the HLS library for video.js
(https://github.com/videojs/videojs-contrib-hls), also under the Apache License, Version 2.0:
Copyright (c) 2013-2015 Brightcove

hls.js bundles url-toolkit (Apache License, Version 2.0) and eventemitter3, which is under the MIT License:
Copyright (c) 2014 Arnout Kazemier
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all copies or substantial portions of
the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

================================================================================
EOF
    cat "$APACHE_2_0"
  } >"$work/$HLS_LICENSE"
  place "$HLS_FILE" "$HLS_LICENSE"
  echo "setup_players: hls.js 1.5.13 (Apache-2.0) from $HLS_PACKAGE -> signaling/vendor/$HLS_FILE"
fi

if ! up_to_date "$VJS_LICENSE" "$VJS_FILE" "$VJS_SHA256" "$VJS_CSS_FILE" "$VJS_CSS_SHA256"; then
  require_apache_text
  archive="$(fetch "$VJS_PACKAGE" "$VJS_ARCHIVE" "$VJS_ARCHIVE_SHA256")"
  extract "$archive" "$VJS_DIR/$VJS_FILE" "$work/$VJS_FILE" "$VJS_SHA256"
  extract "$archive" "$VJS_DIR/$VJS_CSS_FILE" "$work/$VJS_CSS_FILE" "$VJS_CSS_SHA256"
  extract "$archive" "$VJS_DIR/video.js" "$work/video.js" "$VJS_SOURCE_SHA256"
  {
    cat <<EOF
$VJS_FILE, $VJS_CSS_FILE: Video.js 7.5.5 <https://videojs.com/> with @videojs/http-streaming 1.9.3,
from the PyPI package $VJS_PACKAGE ($VJS_DIR/), not modified.
Video.js, vtt.js, @videojs/http-streaming, mux.js, m3u8-parser, mpd-parser and aes-decrypter are under the Apache
License, Version 2.0 (full text at the end). The notices below are those carried by the unminified build in the
same package.

EOF
    # The opening banner (Video.js and vtt.js), then the vtt.js, http-streaming and AES (SJCL, BSD-style) notices.
    awk 'NR == 1, /^ \*\/$/' "$work/video.js"
    echo
    awk '/^  \/\*\*$/ { block = ""; keep = 0 }
         /^  \/\*\*$/, /^   \*\/$/ {
           block = block $0 "\n"
           if ($0 ~ /Copyright 2013 vtt.js Contributors|@videojs\/http-streaming$|@file aes.js/) keep = 1
           if ($0 ~ /^   \*\/$/ && keep && !(block in seen)) { seen[block] = 1; printf "%s\n", block }
         }' "$work/video.js"
    echo "================================================================================"
    cat "$APACHE_2_0"
  } >"$work/$VJS_LICENSE"
  rm -f "$work/video.js"
  place "$VJS_FILE" "$VJS_CSS_FILE" "$VJS_LICENSE"
  echo "setup_players: Video.js 7.5.5 with http-streaming 1.9.3 (Apache-2.0) from $VJS_PACKAGE -> signaling/vendor/$VJS_FILE, $VJS_CSS_FILE"
fi

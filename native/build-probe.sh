#!/usr/bin/env bash
# Builds the libfuse3 ABI probe (fuse_abi_probe.c) against the installed headers.
# Usage: native/build-probe.sh [OUTPUT]   (default: ./fuse_abi_probe next to this script)
# Needs gcc, pkg-config and libfuse3-dev (tests/scripts/install-test-deps.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/fuse_abi_probe}"
command -v gcc >/dev/null 2>&1 || { echo "build-probe: gcc not found (apt-get install gcc)" >&2; exit 3; }
command -v pkg-config >/dev/null 2>&1 || { echo "build-probe: pkg-config not found (apt-get install pkg-config)" >&2; exit 3; }
cflags="$(pkg-config --cflags fuse3 2>/dev/null)" || {
    echo "build-probe: pkg-config knows no fuse3: install libfuse3-dev (tests/scripts/install-test-deps.sh)" >&2
    exit 3
}
# The probe only reads sizes and offsets from the headers; it does not link libfuse.
# shellcheck disable=SC2086
exec gcc -std=c11 -Wall -Wextra -Werror -D_FILE_OFFSET_BITS=64 -DFUSE_USE_VERSION=31 $cflags \
    -o "$out" "$here/fuse_abi_probe.c"

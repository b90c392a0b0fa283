#!/usr/bin/env bash
# Prints the Dokan 2 / Windows x64 ABI facts of dokan_abi_probe.c as "name value" lines (see that file).
# The values are computed by the MinGW-w64 cross compiler at compile time and read from the generated
# assembly: no Windows machine and no Windows binary are needed.
# Needs x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64; tests/scripts/install-test-deps.sh does).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cc="${MINGW_CC:-x86_64-w64-mingw32-gcc}"
command -v "$cc" >/dev/null 2>&1 || {
    echo "dokan-probe: $cc not found (apt-get install gcc-mingw-w64-x86-64)" >&2
    exit 3
}
asm="$(mktemp "${TMPDIR:-/tmp}/dokan_abi_probe.XXXXXX.s")"
trap 'rm -f "$asm"' EXIT
"$cc" -std=c11 -Wall -Wextra -Werror -O0 -S -o "$asm" "$here/dokan_abi_probe.c"
# Each probe value is a global "abi__T[__F]:" or "const__N:" label followed by ".quad VALUE", or by
# ".space 8" when the value is 0 (GCC emits zero-initialised data that way).
awk '
    /^(abi|const)__[A-Za-z0-9_]+:$/ { label = substr($0, 1, length($0) - 1); next }
    label != "" && ($1 == ".quad" || ($1 == ".space" && $2 == "8")) {
        value = ($1 == ".quad") ? $2 : 0
        if (label ~ /^const__/) { name = "const " substr(label, 8) }
        else {
            name = substr(label, 6)
            split_at = index(name, "__")
            if (split_at > 0) { name = substr(name, 1, split_at - 1) "." substr(name, split_at + 2) }
        }
        print name, value
        label = ""
        next
    }
    { label = "" }
' "$asm"

#!/usr/bin/env bash
# The one command that builds every package (on Linux x64 with the .NET 10 SDK and dpkg-deb; no Windows needed):
#   OUT/ftpsmount_VERSION_amd64.deb   packaging/linux/build-deb.sh (self-contained linux-x64, systemd user unit, man page)
#   OUT/ftpsmount-win-x64.zip         packaging/windows/build-win-x64.sh (CLI + tray, Dokan README), plus the
#                                     service/tray/logon notes (packaging/README-WINDOWS-SERVICE.txt)
#
#   packaging/build-packages.sh [OUT]    (default: artifacts/packages)   FTPSMOUNT_VERSION sets the version (0.1.0)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/artifacts/packages}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

deb="$("$here/linux/build-deb.sh" "$out" | tail -n 1)"

if [[ -f $here/windows/build-win-x64.sh ]]; then
    zip="$(bash "$here/windows/build-win-x64.sh" "$out" | tail -n 1)"
else
    # Until packaging/windows/build-win-x64.sh exists: the CLI and the tray, published self-contained for win-x64.
    echo "build-packages: packaging/windows/build-win-x64.sh not found; building a minimal win-x64 zip" >&2
    stage="$out/ftpsmount-win-x64"
    rm -rf "$stage" "$out/ftpsmount-win-x64.zip"
    mkdir -p "$stage"
    for project in FtpsMount.Cli FtpsMount.Tray; do
        dotnet publish "$repo/src/$project/$project.csproj" -c Release -r win-x64 --self-contained -o "$stage" --nologo -v quiet >&2
    done
    for required in ftpsmount.exe ftpsmount-tray.exe; do
        [[ -f $stage/$required ]] || { echo "build-packages: $required missing from $stage" >&2; exit 1; }
    done
    python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2], "ftpsmount-win-x64")' "$out/ftpsmount-win-x64" "$out"
    zip="$out/ftpsmount-win-x64.zip"
fi

# The service/tray/logon notes go into the zip (next to the programs) whichever script built it.
cp "$here/README-WINDOWS-SERVICE.txt" "$out/ftpsmount-win-x64/"
if command -v zip >/dev/null 2>&1; then
    (cd "$out" && zip -q "$zip" ftpsmount-win-x64/README-WINDOWS-SERVICE.txt)
else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "a", zipfile.ZIP_DEFLATED).write(sys.argv[2], sys.argv[3])' \
        "$zip" "$out/ftpsmount-win-x64/README-WINDOWS-SERVICE.txt" ftpsmount-win-x64/README-WINDOWS-SERVICE.txt
fi
listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip")"
for required in ftpsmount.exe README-WINDOWS-SERVICE.txt; do
    grep -q "$required" <<<"$listing" || { echo "build-packages: $zip has no $required" >&2; exit 1; }
done

echo "build-packages: built" >&2
echo "$deb"
echo "$zip"

#!/usr/bin/env bash
# Builds the Windows x64 distribution on any machine with the .NET 10 SDK (no Windows needed):
#   artifacts/ftpsmount-win-x64/           ftpsmount.exe (self-contained) [+ the tray app when the project exists]
#   artifacts/ftpsmount-win-x64.zip        the same, plus README-DOKAN.txt (how to install the Dokan 2 driver)
# Usage: packaging/windows/build-win-x64.sh [OUTPUT_DIR]   (default: artifacts/ under the repository root, git-ignored)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/artifacts}"
stage="$out/ftpsmount-win-x64"
rm -rf "$stage" "$out/ftpsmount-win-x64.zip"
mkdir -p "$stage"

publish() {
    dotnet publish "$1" -c Release -r win-x64 --self-contained -p:PublishSingleFile=false -o "$stage" --nologo -v quiet
}

publish "$root/src/FtpsMount.Cli/FtpsMount.Cli.csproj"
# The tray icon client (issue 7) joins the zip when its project exists.
if [[ -f "$root/src/FtpsMount.Tray/FtpsMount.Tray.csproj" ]]; then
    publish "$root/src/FtpsMount.Tray/FtpsMount.Tray.csproj"
fi
cp "$here/README-DOKAN.txt" "$stage/"

for required in ftpsmount.exe FtpsMount.Dokan.dll FtpsMount.Core.dll README-DOKAN.txt; do
    [[ -f "$stage/$required" ]] || { echo "build-win-x64: $required missing from $stage" >&2; exit 1; }
done

if command -v zip >/dev/null 2>&1; then
    (cd "$out" && zip -qr ftpsmount-win-x64.zip ftpsmount-win-x64)
else
    python3 -c 'import shutil,sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2], "ftpsmount-win-x64")' "$out/ftpsmount-win-x64" "$out"
fi
echo "$out/ftpsmount-win-x64.zip"

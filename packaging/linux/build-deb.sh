#!/usr/bin/env bash
# Builds the Debian package from a self-contained linux-x64 publish of the CLI:
#   /usr/lib/ftpsmount/        the published program (the .NET runtime and ASP.NET Core included; no .NET needed)
#   /usr/bin/ftpsmount         -> /usr/lib/ftpsmount/ftpsmount
#   /sbin/mount.fuse.ftpsmount the mount(8) helper (mount -t fuse.ftpsmount, fstab)
#   /usr/lib/systemd/user/ftpsmount.service   the service as a systemd user unit
#   /usr/share/man/man1/ftpsmount.1.gz (+ man8/mount.fuse.ftpsmount.8.gz), /usr/share/doc/ftpsmount/ (README,
#   copyright, changelog)
# Depends on fuse3 (fusermount3, libfuse3.so.3) and OpenSSL 3.
#
#   packaging/linux/build-deb.sh [OUTPUT_DIR]       (default: artifacts/packages; prints the .deb's path last)
# Environment: FTPSMOUNT_VERSION (default 0.1.0), DOTNET (default dotnet).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/artifacts/packages}"
version="${FTPSMOUNT_VERSION:-0.1.0}"
dotnet="${DOTNET:-dotnet}"
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is needed (apt-get install dpkg)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/DEBIAN" "$root/usr/lib/ftpsmount" "$root/usr/bin" "$root/sbin" "$root/usr/lib/systemd/user" \
         "$root/usr/share/man/man1" "$root/usr/share/doc/ftpsmount"

# Published from a copy of src/ so this build never rewrites the bin/ and obj/ of the working tree (tests may be
# running from them at the same time).
echo "build-deb: publishing src/FtpsMount.Cli for linux-x64 (self-contained)" >&2
mkdir -p "$work/src"
(cd "$repo/src" && tar --exclude=bin --exclude=obj -cf - .) | (cd "$work/src" && tar -xf -)
cp "$repo/.editorconfig" "$work/" 2>/dev/null || true
"$dotnet" publish "$work/src/FtpsMount.Cli/FtpsMount.Cli.csproj" -c Release -r linux-x64 --self-contained \
    -p:Version="$version" -p:DebugType=none -p:GenerateDocumentationFile=false \
    -o "$root/usr/lib/ftpsmount" --nologo -v quiet >&2
[[ -x $root/usr/lib/ftpsmount/ftpsmount ]] || { echo "build-deb: the publish produced no ftpsmount executable" >&2; exit 1; }

ln -s ../lib/ftpsmount/ftpsmount "$root/usr/bin/ftpsmount"
install -m 755 "$here/mount.fuse.ftpsmount" "$root/sbin/mount.fuse.ftpsmount"
install -m 644 "$here/ftpsmount.service" "$root/usr/lib/systemd/user/ftpsmount.service"
gzip -9n <"$here/ftpsmount.1" >"$root/usr/share/man/man1/ftpsmount.1.gz"
chmod 644 "$root/usr/share/man/man1/ftpsmount.1.gz"
# `man mount.fuse.ftpsmount` shows ftpsmount(1), which describes the helper.
mkdir -p "$root/usr/share/man/man8"
printf '.so man1/ftpsmount.1\n' | gzip -9n >"$root/usr/share/man/man8/mount.fuse.ftpsmount.8.gz"
chmod 644 "$root/usr/share/man/man8/mount.fuse.ftpsmount.8.gz"
install -m 644 "$repo/README.md" "$root/usr/share/doc/ftpsmount/README.md"
# Debian policy 12.5/12.7: every package ships its copyright file and (native) changelog.
cat >"$root/usr/share/doc/ftpsmount/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ftpsmount
Comment: Built from the FtpsMount repository. The program under /usr/lib/ftpsmount is a self-contained .NET
 publish: it includes the .NET runtime and ASP.NET Core (MIT, Copyright (c) .NET Foundation and Contributors).

Files: *
Copyright: FtpsMount developers
License: other
 No licence text is shipped with this build; see /usr/share/doc/ftpsmount/README.md.
COPYRIGHT
chmod 644 "$root/usr/share/doc/ftpsmount/copyright"
printf 'ftpsmount (%s) unstable; urgency=medium\n\n  * Built from the FtpsMount repository.\n\n -- FtpsMount developers <ftpsmount@localhost>  %s\n' \
    "$version" "$(date -R -u ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH})" | gzip -9n >"$root/usr/share/doc/ftpsmount/changelog.gz"
chmod 644 "$root/usr/share/doc/ftpsmount/changelog.gz"
find "$root/usr/lib/ftpsmount" -type f -exec chmod 644 {} +
chmod 755 "$root/usr/lib/ftpsmount/ftpsmount"
find "$root" -type d -exec chmod 755 {} +

installed_kb="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat >"$root/DEBIAN/control" <<CONTROL
Package: ftpsmount
Version: $version
Section: utils
Priority: optional
Architecture: amd64
Depends: fuse3, libc6, libgcc-s1, libstdc++6, libssl3 | libssl3t64, zlib1g, ca-certificates
Installed-Size: $installed_kb
Maintainer: FtpsMount developers <ftpsmount@localhost>
Homepage: https://localhost/ftpsmount
Description: mount FTPS (FTP over TLS) servers as local directories
 FtpsMount mounts an FTPS server (explicit or implicit TLS) through FUSE, with
 a pool of TLS sessions, a metadata cache and a block-range read cache.
 Includes the ftpsmount command, the mount(8) helper for fuse.ftpsmount, and a
 background service (systemd user unit) that keeps profiles mounted and serves
 a local status dashboard.
CONTROL

mkdir -p "$out"
deb="$out/ftpsmount_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz -z6 --build "$root" "$deb" >&2
echo "$deb"

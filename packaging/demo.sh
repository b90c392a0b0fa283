#!/usr/bin/env bash
# The one-command demo: installs what is missing (Debian packages, a local vsftpd), builds ftpsmount, starts an FTPS
# server on 127.0.0.1 with sample files, mounts it on /mnt/ftpsmount-demo and prints what to try.
#   sudo packaging/demo.sh          start (again)      sudo packaging/demo.sh --stop    unmount and stop the server
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
state=/run/ftpsmount-demo
mountpoint=${FTPSMOUNT_DEMO_MOUNT:-/mnt/ftpsmount-demo}
out=/opt/ftpsmount-demo

if [ "$(id -u)" -ne 0 ]; then
  echo "The demo installs packages and runs a local FTP server that logs in a local test user: run it as root (sudo $0)." >&2
  exit 2
fi

stop() {
  if grep -qs " $mountpoint " /proc/self/mountinfo; then
    "$out/bin/ftpsmount" unmount "$mountpoint" 2>/dev/null || fusermount3 -uz "$mountpoint" || true
  fi
  if [ -f "$state/server.pid" ]; then
    kill -TERM "$(cat "$state/server.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$(cat "$state/server.pid")" 2>/dev/null || break; sleep 0.1; done
    rm -f "$state/server.pid"
  fi
}

if [ "${1:-}" = "--stop" ]; then
  stop
  echo "demo stopped"
  exit 0
fi

echo "== installing what is missing (fuse3, a local vsftpd, test user)"
tests/scripts/install-test-deps.sh >/dev/null
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is needed (dotnet on PATH)" >&2; exit 1; }

echo "== building ftpsmount"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/FtpsMount.Cli -c Release -o "$out/bin" -v quiet -nologo >/dev/null
dotnet build tests/FtpsMount.DemoServer -c Release -o "$out/server" -v quiet -nologo >/dev/null

stop
mkdir -p "$state" "$mountpoint"
chmod 700 "$state"
rm -f "$state/info.env"

echo "== starting the demo FTPS server on 127.0.0.1"
setsid dotnet "$out/server/FtpsMount.DemoServer.dll" "$state/info.env" </dev/null >"$state/server.log" 2>&1 &
echo $! >"$state/server.pid"
for _ in $(seq 1 600); do
  [ -f "$state/info.env" ] && break
  kill -0 "$(cat "$state/server.pid")" 2>/dev/null || { echo "the demo server failed to start:" >&2; cat "$state/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -f "$state/info.env" ] || { echo "the demo server did not come up within 60 s; see $state/server.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$state/info.env"

echo "== mounting $FTPS_URL on $mountpoint"
"$out/bin/ftpsmount" mount "$FTPS_URL" "$mountpoint" --ca-file "$FTPS_CA_FILE" --password-file "$FTPS_PASSWORD_FILE" --daemon

cat <<TRY

FtpsMount demo is live: $FTPS_URL is mounted on $mountpoint (FTPS, TLS verified against $FTPS_CA_FILE).

Try:
  ls -l $mountpoint $mountpoint/photos
  cat $mountpoint/README.txt
  cp /etc/services $mountpoint/docs/ && ls -l $FTPS_SERVER_ROOT/docs/     # on the server when cp returns
  dd if=$mountpoint/big/64MiB.bin of=/dev/null bs=1M                        # sequential read
  $out/bin/ftpsmount status
  $out/bin/ftpsmount probe $FTPS_URL --ca-file $FTPS_CA_FILE --password-file $FTPS_PASSWORD_FILE
Unmount:    $out/bin/ftpsmount unmount $mountpoint
Stop all:   sudo $repo/packaging/demo.sh --stop
TRY

#!/bin/sh
# The workload benchmark in one command (as root, on Debian 12 with the .NET 10 SDK): installs the test servers
# (tests/scripts/install-test-deps.sh, idempotent), builds tests/FtpsMount.Bench in Release and runs it. It starts a
# reference vsftpd on 127.0.0.1, installs rclone, fio and curl from Debian when missing, runs every workload on
# ftpsmount, rclone mount and curl, and writes the table to tests/FtpsMount.Bench/results/latest.md.
# Arguments go to the runner: --reps N, --only seq-read,ls, --tools ftpsmount,curl, --help.
# The micro-benchmarks: tests/scripts/bench.sh micro [--filter '*Listing*'] (no root needed).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ "${1:-}" != micro ]; then
    tests/scripts/install-test-deps.sh
fi
dotnet build tests/FtpsMount.Bench/FtpsMount.Bench.csproj -c Release -v q --nologo
exec dotnet tests/FtpsMount.Bench/bin/Release/net10.0/FtpsMount.Bench.dll "$@"

#!/usr/bin/env bash
# The one test command (README.md, .ci/run): installs what the tests need on a fresh Debian 12 machine
# (apt packages, the reference FTPS servers, the test user), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run-tests.sh needs root: it installs packages and starts reference FTP servers that log in a local test user." >&2
  exit 2
fi

tests/scripts/install-test-deps.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build FtpsMount.sln -c Release
# --blame-hang-timeout: a hung test (it never should) fails the run with a dump instead of stalling CI.
dotnet test FtpsMount.sln -c Release --no-build --blame-hang-timeout 10m --logger "console;verbosity=normal" "$@"

#!/bin/sh
# The long form of the reliability drills (README, "Reliability drills"): every drill in tests/FtpsMount.Drills.Tests
# bigger and longer (FTPSMOUNT_SOAK=1: 5-minute load run, 20000-op model drill, 256 MB reads, more cut and kill rounds)
# and the parser fuzzers with a million inputs per target and a fresh seed. Root, after tests/scripts/install-test-deps.sh.
# Every figure line starts with "FIGURE"; a fuzz input that breaks a parser is saved under fuzz-found/ (the failure
# names the file) and belongs in tests/FtpsMount.Protocol.Tests/Fuzz/Corpus/<target>/.
#   tests/scripts/soak.sh                      # all of it (about 30-40 minutes on 2 cores)
#   FTPSMOUNT_FUZZ_SEED=1234 tests/scripts/soak.sh   # replay a fuzz seed
set -eu
cd "$(dirname "$0")/../.."
export FTPSMOUNT_SOAK=1
export FTPSMOUNT_FUZZ_ITERATIONS="${FTPSMOUNT_FUZZ_ITERATIONS:-1000000}"
export FTPSMOUNT_FUZZ_SEED="${FTPSMOUNT_FUZZ_SEED:-$(date +%s)}"
echo "soak: fuzz seed $FTPSMOUNT_FUZZ_SEED, $FTPSMOUNT_FUZZ_ITERATIONS inputs per target"
dotnet build tests/FtpsMount.Protocol.Tests/FtpsMount.Protocol.Tests.csproj -c Release
dotnet build tests/FtpsMount.Drills.Tests/FtpsMount.Drills.Tests.csproj -c Release
status=0
dotnet test tests/FtpsMount.Protocol.Tests/FtpsMount.Protocol.Tests.csproj -c Release --no-build \
  --filter "FullyQualifiedName~Fuzz" --logger "console;verbosity=detailed" || status=1
dotnet test tests/FtpsMount.Drills.Tests/FtpsMount.Drills.Tests.csproj -c Release --no-build \
  --logger "console;verbosity=detailed" || status=1
exit $status

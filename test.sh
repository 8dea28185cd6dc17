#!/usr/bin/env bash
# Installs what the tests need (if missing) and runs every test. The last line is always
# "N passed, N failed", counted from the test results themselves (TRX files).
#
#   ./test.sh           the default run (well under 20 minutes)
#   ./test.sh --long    also the long modes: 25 SIGKILL crash cycles instead of 3, …
set -uo pipefail
cd "$(dirname "$0")"

LONG=0
for arg in "$@"; do
  case "$arg" in
    --long) LONG=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (use --long or --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

# --- what the tests need -------------------------------------------------------------------------
# Debian packages the test suites use. Each is installed only if missing; a failed install fails the run.
# nats-server: a peer in the bench's smoke test (Switchboard.Bench.Tests), small; RabbitMQ, a large install, is left to
# bench/install-peers.sh, and the smoke test checks that the bench names it as skipped when it is missing.
# chromium: the web console's browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core; a test
# tool's own browser download does not work on these machines.
APT_PACKAGES=(redis-server nginx-light nats-server chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Node.js runs the third-party client tests; a machine may already have it from elsewhere than Debian.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  # Installing redis-server or nginx would start them as system services (on 6379 and 80); the tests start their own
  # on free loopback ports. A policy-rc.d for the duration of the install keeps Debian from starting any.
  policy=/usr/sbin/policy-rc.d; own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && own_policy=1
  fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  installed=$?
  [ "$own_policy" = 1 ] && $SUDO rm -f "$policy"
  [ "$installed" = 0 ] || { echo "test.sh: could not install ${missing[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required"; echo "0 passed, 1 failed"; exit 1; }

# The npm packages of the third-party client tests (ws, eventsource, …) and of the console's browser tests
# (playwright-core, which brings no browser of its own), from tests/js/package-lock.json, and those of the Node
# samples (samples/package-lock.json), which Switchboard.Samples.Tests runs.
for folder in tests/js samples; do
  say "npm packages in $folder"
  if ! (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "test.sh: npm ci failed in $folder"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# --- build ---------------------------------------------------------------------------------------
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# .NET's HTTP/2 client grows a stream's receive window as data arrives (up to 16 MB), so a test client that stops
# reading would still drain the hub; fixed 64 KiB windows make "a client that never reads" what it says. The
# setting is read once per process, so it has to be in the environment (see the gRPC slow-consumer test).
export DOTNET_SYSTEM_NET_HTTP_SOCKETSHTTPHANDLER_HTTP2FLOWCONTROL_DISABLEDYNAMICWINDOWSIZING=1
[ "$LONG" = 1 ] && export SWITCHBOARD_LONG=1
RESULTS="$(pwd)/TestResults"
rm -rf "$RESULTS"
say "build"
if ! dotnet build Switchboard.slnx -c Release -warnaserror --nologo -v quiet; then
  echo "test.sh: the build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- test ----------------------------------------------------------------------------------------
say "test"
# Every project but the bench smoke test, which runs after them, alone: it starts ~40 servers and measures, and beside
# the timing-sensitive suites it would slow them and itself (dotnet test runs projects side by side).
# A test that hangs is stopped after 10 minutes and named (blame), instead of holding the run until the session timeout.
dotnet test Switchboard.slnx -c Release --no-build --nologo --filter "FullyQualifiedName!~Switchboard.Bench.Tests" \
  --blame-hang-timeout 10m --blame-hang-dump-type none \
  --logger "trx;LogFilePrefix=results" --logger "console;verbosity=minimal" \
  --results-directory "$RESULTS" -- RunConfiguration.TestSessionTimeout=3600000
test_exit=$?
say "bench smoke test (switchboard bench --quick)"
dotnet test tests/Switchboard.Bench.Tests -c Release --no-build --nologo \
  --logger "trx;LogFilePrefix=bench" --logger "console;verbosity=minimal" \
  --results-directory "$RESULTS" -- RunConfiguration.TestSessionTimeout=1800000
bench_exit=$?
[ "$test_exit" -eq 0 ] && test_exit=$bench_exit

# --- count from the results themselves -------------------------------------------------------------
passed=0; failed=0
shopt -s nullglob
trx=("$RESULTS"/*.trx)
for file in "${trx[@]}"; do
  p=$(grep -oE '<UnitTestResult [^>]*outcome="Passed"' "$file" | wc -l)
  # Anything that did not pass counts as failed: Failed, Timeout, Aborted, NotExecuted (a skip is a failure here).
  f=$(grep -oE '<UnitTestResult [^>]*outcome="[A-Za-z]+"' "$file" | grep -vc 'outcome="Passed"')
  passed=$((passed + p)); failed=$((failed + f))
done
if [ ${#trx[@]} -eq 0 ]; then
  echo "test.sh: no test results were written"
  failed=$((failed + 1))
elif [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # dotnet test failed without a failing result (a crashed test host, a project that did not run).
  echo "test.sh: dotnet test exited with $test_exit"
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Runs every test of Folio on a fresh Debian 12 machine:
#   - installs RabbitMQ, Redis, Chromium (the gateway's playground test) and NVRTC (the CUDA kernel
#     compile checks) from Debian if missing,
#   - starts RabbitMQ and Redis on loopback in a private folder (no systemd needed),
#   - builds the host-emulation library of the CUDA kernels,
#   - builds the solution and runs every test project.
# A missing server is a failure, never a skip. Prints one closing line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash tests/servers.sh install
# The gateway's playground test drives Debian's headless Chromium (through playwright-core from npm).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium from Debian" >&2
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
bash native-kernels/install-nvrtc.sh
bash native-kernels/build-emu.sh
(cd tests/node && npm ci --no-audit --no-fund)

# Stop at the end only what this run started: servers a developer already runs stay up.
if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "test.sh: using the RabbitMQ and Redis already running on loopback"
else
  bash tests/servers.sh start
  trap 'bash tests/servers.sh stop >/dev/null 2>&1 || true' EXIT
fi
eval "$(bash tests/servers.sh env)"

# The RabbitMQ cluster test's fixture starts three nodes (tests/rabbitmq-cluster.sh) and leaves them
# up for quick reruns; stop them at the end when this run started them.
rabbit_cluster_was_up=no
if (exec 3<>/dev/tcp/127.0.0.1/5681) 2>/dev/null; then rabbit_cluster_was_up=yes; fi

# run_tests RESULTS-DIR CONSOLE-VERBOSITY [dotnet test options]: the built solution's tests, a trx
# report per project in RESULTS-DIR; returns dotnet test's status (callers take it with ||, so a
# failure does not stop the script).
run_tests() {
  local dir=$1 verbosity=$2; shift 2
  dotnet test Worker.sln -c Release --no-build -nologo \
    --logger "trx" --results-directory "$dir" --logger "console;verbosity=$verbosity" "$@"
}

results=$(mktemp -d)
dotnet build Worker.sln -c Release -nologo -v quiet
status=0
run_tests "$results" normal || status=$?
# One closing line for the whole run, summed over every project's trx report, below the name and
# message of each failed test.
python3 tests/summarize-trx.py "$results" --failed-methods "$results/failed-methods.txt" || true

# One rerun of what failed, when only a few tests did: on 2 shared cores, a test of a race or a
# deadline can lose to the suite's own load (docs/operations.md, "Testing against real servers").
# A test that fails twice fails the run; one that passes its rerun is named as FLAKY, to be looked at.
if [ "$status" -ne 0 ] && [ -s "$results/failed-methods.txt" ] && [ "$(wc -l < "$results/failed-methods.txt")" -le 3 ]; then
  filter=$(sed 's/^/FullyQualifiedName=/' "$results/failed-methods.txt" | paste -sd '|')
  echo "test.sh: rerunning once: $filter"
  rerun="$results/rerun"
  rerun_status=0
  run_tests "$rerun" minimal --filter "$filter" || rerun_status=$?
  if python3 tests/summarize-trx.py "$rerun" --check && [ "$rerun_status" -eq 0 ]; then
    sed 's/^/FLAKY (failed, then passed its rerun): /' "$results/failed-methods.txt"
    status=0
  fi
fi
if [ "$rabbit_cluster_was_up" = no ]; then bash tests/rabbitmq-cluster.sh stop >/dev/null 2>&1 || true; fi
exit $status

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

results=$(mktemp -d)
dotnet build Worker.sln -c Release -nologo -v quiet
set +e
dotnet test Worker.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  --logger "console;verbosity=normal"
status=$?
set -e
if [ "$rabbit_cluster_was_up" = no ]; then bash tests/rabbitmq-cluster.sh stop >/dev/null 2>&1 || true; fi
# One closing line for the whole run, summed over every project's trx report.
python3 - "$results" <<'PY' || true
import sys, glob, re
import xml.etree.ElementTree as ET
p = f = s = 0
failures = []
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    text = open(path, encoding="utf-8").read()
    # CI keeps only the tail of the output: repeat each failure's name and message down here.
    for result in ET.fromstring(text).iter():
        if result.tag.endswith("UnitTestResult") and result.get("outcome") == "Failed":
            message = next((e.text or "" for e in result.iter() if e.tag.endswith("Message")), "")
            failures.append(f"FAILED {result.get('testName')}\n  " + "\n  ".join(message.strip().splitlines()[:25]))
    m = re.search(r'<Counters [^>]*', text)
    if not m: continue
    attrs = dict(re.findall(r'(\w+)="(\d+)"', m.group(0)))
    p += int(attrs.get("passed", 0)); f += int(attrs.get("failed", 0)) + int(attrs.get("error", 0))
    s += int(attrs.get("total", 0)) - int(attrs.get("executed", 0))
for failure in failures: print(failure)
print(f"tests: {p} passed, {f} failed, {s} skipped")
PY
exit $status

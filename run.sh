#!/usr/bin/env bash
# The demo, on a fresh Debian 12 machine with the .NET SDK:
#   1. RabbitMQ and Redis: uses the ones that answer on 5672/6379, else installs Debian's and starts
#      them on loopback (tests/servers.sh),
#   2. starts one Folio worker on the demo model (random weights, real GPT-2 tokenizer),
#   3. submits sample prompts through the queue and streams each one back from Redis,
#   4. starts the OpenAI-compatible gateway beside it (src/Folio.Gateway, http://127.0.0.1:8080, one
#      demo API key) and asks it for a completion and a streamed chat through curl,
#   5. stops the gateway and the worker with SIGTERM (a graceful drain) and the servers it started.
# Override anything with the worker's environment variables, e.g. Folio__Model__Path=/models/x.gguf.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export Folio__RabbitMq__Uri=${Folio__RabbitMq__Uri:-amqp://guest:guest@127.0.0.1:5672/}
export Folio__Redis__Configuration=${Folio__Redis__Configuration:-127.0.0.1:6379}
export Folio__Model__Path=${Folio__Model__Path:-demo}
export Folio__Engine__KvCacheMemory=${Folio__Engine__KvCacheMemory:-512MiB}
port=${Folio__Worker__HttpPort:-9400}
export Folio__Worker__HttpPort=$port

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started_servers=0
worker_pid=
gateway_pid=
cleanup() {
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
  fi
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
  fi
  if [ "$started_servers" = 1 ]; then bash tests/servers.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if ! port_open 5672 || ! port_open 6379; then
  echo "run.sh: no RabbitMQ/Redis on loopback: starting Debian's (tests/servers.sh)"
  bash tests/servers.sh install
  bash tests/servers.sh start
  started_servers=1
fi

echo "run.sh: building (Release)"
dotnet build src/Folio.Worker -c Release -nologo -v quiet
dotnet build src/Folio.Cli -c Release -nologo -v quiet
dotnet build src/Folio.Gateway -c Release -nologo -v quiet
worker_dll=src/Folio.Worker/bin/Release/net10.0/Folio.Worker.dll
folio=(dotnet src/Folio.Cli/bin/Release/net10.0/linux-x64/folio.dll)

echo "run.sh: starting a worker on model '$Folio__Model__Path'"
dotnet "$worker_dll" &
worker_pid=$!
for _ in $(seq 1 240); do
  if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$worker_pid" 2>/dev/null || { echo "run.sh: the worker exited; see its log above" >&2; exit 1; }
  sleep 0.5
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "run.sh: the worker did not become ready in 120 s" >&2; exit 1; }

prompts=("The quick brown fox" "Once upon a time, in a queue far away," "Paged attention works by")
for p in "${prompts[@]}"; do
  echo
  echo "=== prompt: $p"
  "${folio[@]}" submit --prompt "$p" --max-tokens 32 --temperature 0.8 --seed 7 --wait
  echo
done
echo
echo "run.sh: worker metrics (excerpt):"
curl -fs "http://127.0.0.1:$port/metrics" | grep -E '^folio_(generation_tokens|prompt_tokens|requests)' | head -8 || true

# The gateway: OpenAI's API over the same queue. The key is a demo's; a deployment configures its own
# (Folio:Gateway:ApiKeys, stored as SHA-256 hashes: docs/gateway.md).
gateway_port=${FOLIO_GATEWAY_PORT:-8080}
demo_key=${FOLIO_DEMO_KEY:-sk-folio-demo}
export Folio__Gateway__Urls=${Folio__Gateway__Urls:-http://127.0.0.1:$gateway_port}
export Folio__Gateway__ApiKeys__0__Name=demo
export Folio__Gateway__ApiKeys__0__Sha256=$(printf %s "$demo_key" | sha256sum | cut -d' ' -f1)
echo
echo "run.sh: starting the gateway on $Folio__Gateway__Urls (playground at /, OpenAPI at /openapi.json)"
dotnet src/Folio.Gateway/bin/Release/net10.0/Folio.Gateway.dll &
gateway_pid=$!
for _ in $(seq 1 120); do
  if curl -fs "$Folio__Gateway__Urls/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$gateway_pid" 2>/dev/null || { echo "run.sh: the gateway exited; see its log above" >&2; exit 1; }
  sleep 0.5
done
model=$(curl -fs "$Folio__Gateway__Urls/v1/models" -H "Authorization: Bearer $demo_key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
echo "run.sh: GET /v1/models -> $model"
echo "=== POST /v1/completions"
curl -fsS "$Folio__Gateway__Urls/v1/completions" -H "Authorization: Bearer $demo_key" -H 'Content-Type: application/json' \
  -d "{\"model\": \"$model\", \"prompt\": \"The quick brown fox\", \"max_tokens\": 24, \"temperature\": 0.8, \"seed\": 7}"
echo
echo "=== POST /v1/chat/completions (stream)"
curl -sS -N "$Folio__Gateway__Urls/v1/chat/completions" -H "Authorization: Bearer $demo_key" -H 'Content-Type: application/json' \
  -d "{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Say hello\"}], \"max_tokens\": 16, \"stream\": true}" | head -c 2000
echo
echo "run.sh: stopping the gateway and the worker (SIGTERM drains it)"

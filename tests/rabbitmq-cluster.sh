#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on loopback for the cluster tests (issue 14): rabbit-c1/2/3@localhost on
# AMQP ports 5681..5683 (distribution ports 25681..25683), data under one folder, one Erlang cookie.
# c2 and c3 join c1. Idempotent: nodes that already run are left alone.
#   tests/rabbitmq-cluster.sh start | stop | env | start-node N | leader QUEUE | kill-node N | kill-leader QUEUE | ctl N ARGS...
# leader prints the number of the node that leads QUEUE (a quorum queue); kill-node SIGKILLs node
# N's beam process at once; kill-leader does both (slow: asking takes seconds); start-node N brings
# a node back and waits until it runs in the cluster again.
# Folder: FOLIO_RABBIT_CLUSTER_DIR (default /tmp/folio-rabbit-cluster).
set -euo pipefail
base=${FOLIO_RABBIT_CLUSTER_DIR:-/tmp/folio-rabbit-cluster}
first_port=5681
export PATH="/usr/lib/rabbitmq/bin:$PATH"
# One HOME for every node and for rabbitmqctl: the Erlang cookie lives there.
export HOME="$base"
mkdir -p "$base"
[ -f "$base/.erlang.cookie" ] || { echo "FOLIOCLUSTERCOOKIE$(date +%s%N)" > "$base/.erlang.cookie"; chmod 400 "$base/.erlang.cookie"; }

node_env() {
  local n=$1 dir="$base/c$1" port=$((first_port + $1 - 1))
  mkdir -p "$dir/mnesia" "$dir/log"
  export RABBITMQ_NODENAME="rabbit-c$n@localhost" RABBITMQ_NODE_PORT="$port" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_DIST_PORT=$((port + 20000)) RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/pid" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
  [ -f "$dir/enabled_plugins" ] || echo '[].' > "$dir/enabled_plugins"
  printf 'loopback_users = none\nconsumer_timeout = 3600000\n' > "$dir/rabbitmq.conf"
}
port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctl() { local n=$1; shift; rabbitmqctl -q -n "rabbit-c$n@localhost" "$@"; }

start_node() {
  local n=$1
  port_up $((first_port + n - 1)) && return 0
  ( node_env "$n"; rabbitmq-server -detached >/dev/null 2>&1 || true )
}
wait_node() {
  local n=$1
  ( node_env "$n"; timeout 90 rabbitmqctl -q -n "$RABBITMQ_NODENAME" wait "$RABBITMQ_PID_FILE" >/dev/null 2>&1 ) || true
  for _ in $(seq 1 120); do port_up $((first_port + n - 1)) && return 0; sleep 0.5; done
  echo "rabbitmq-cluster.sh: node c$n did not start; see $base/c$n/log" >&2; return 1
}
running_nodes() { ctl 1 cluster_status --formatter json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))' 2>/dev/null || echo 0; }
joined() { ctl 1 cluster_status --formatter json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["disk_nodes"]))' 2>/dev/null | grep -q "rabbit-c$1@localhost"; }

start() {
  for n in 1 2 3; do start_node "$n"; done
  for n in 1 2 3; do wait_node "$n"; done
  for n in 2 3; do
    joined "$n" && continue
    ctl "$n" stop_app
    ctl "$n" join_cluster rabbit-c1@localhost
    ctl "$n" start_app
  done
  for _ in $(seq 1 120); do [ "$(running_nodes)" = 3 ] && return 0; sleep 0.5; done
  echo "rabbitmq-cluster.sh: cluster_status does not list 3 running nodes" >&2; ctl 1 cluster_status >&2 || true; return 1
}
stop() { for n in 1 2 3; do ( node_env "$n"; rabbitmqctl -q -n "$RABBITMQ_NODENAME" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true ); done; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  start-node) start_node "${2:?N}"; wait_node "$2"; for _ in $(seq 1 120); do [ "$(running_nodes)" = 3 ] && exit 0; sleep 0.5; done; exit 1 ;;
  env)
    echo "export FOLIO_TEST_RABBITMQ_CLUSTER_URI=amqp://guest:guest@127.0.0.1:5681/,amqp://guest:guest@127.0.0.1:5682/,amqp://guest:guest@127.0.0.1:5683/"
    echo "export FOLIO_TEST_RABBITMQ_CLUSTER=$(readlink -f "$0")" ;;
  leader|kill-leader)
    q=${2:?QUEUE}; leader=
    for n in 1 2 3; do
      leader=$(ctl "$n" list_queues name leader --formatter json 2>/dev/null | python3 -c 'import json,sys; print(next((x["leader"] for x in json.load(sys.stdin) if x["name"]==sys.argv[1]),""))' "$q") && [ -n "$leader" ] && break
    done
    [ -n "$leader" ] || { echo "rabbitmq-cluster.sh: no leader found for queue $q" >&2; exit 1; }
    n=${leader#rabbit-c}; n=${n%%@*}
    [ "$1" = leader ] || kill -KILL "$(cat "$base/c$n/pid")"
    echo "$n" ;;
  kill-node) n=${2:?N}; kill -KILL "$(cat "$base/c$n/pid")" ;;
  ctl) shift; n=$1; shift; ctl "$n" "$@" ;;
  *) echo "usage: $0 start|stop|env|start-node N|ctl N ARGS..." >&2; exit 2 ;;
esac

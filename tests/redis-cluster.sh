#!/usr/bin/env bash
# A Redis Cluster on loopback for benchmarks and manual checks (the tests start their own, see
# tests/Folio.Worker.Tests/Support/RedisCluster.cs): three primaries and three replicas, Debian's
# redis-server, no persistence, in a folder of its own.
#   tests/redis-cluster.sh start DIR [FIRST_PORT]   (ports FIRST_PORT..FIRST_PORT+5, default 7100)
#   tests/redis-cluster.sh stop DIR
# Prints the Folio:Redis:Configuration naming every node.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?folder}; first=${3:-7100}
case "$cmd" in
start)
  mkdir -p "$dir"
  nodes=()
  for i in 0 1 2 3 4 5; do
    port=$((first + i)); mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
      --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
    nodes+=("127.0.0.1:$port")
  done
  for n in "${nodes[@]}"; do until redis-cli -p "${n##*:}" ping >/dev/null 2>&1; do sleep 0.05; done; done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
  for n in "${nodes[@]}"; do
    until redis-cli -p "${n##*:}" cluster info | grep -q cluster_state:ok; do sleep 0.1; done
  done
  for n in "${nodes[@]}"; do
    until redis-cli -p "${n##*:}" info replication | grep -qE 'role:master|master_link_status:up'; do sleep 0.1; done
  done
  (IFS=,; echo "${nodes[*]}")
  ;;
stop)
  for pid in "$dir"/*/redis.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  ;;
*) echo "usage: $0 start|stop DIR [FIRST_PORT]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Starts and stops the real RabbitMQ and Redis the tests run against, on loopback, in a private
# folder, without systemd. Used by test.sh and by the restart tests.
#   tests/servers.sh install | start | stop | env | restart-rabbitmq | restart-redis | stop-rabbitmq | start-rabbitmq | stop-redis | start-redis
# Ports: FOLIO_TEST_AMQP_PORT (default 5672), FOLIO_TEST_REDIS_PORT (default 6379).
set -euo pipefail
base=${FOLIO_TEST_SERVERS_DIR:-/tmp/folio-test-servers}
amqp_port=${FOLIO_TEST_AMQP_PORT:-5672}
redis_port=${FOLIO_TEST_REDIS_PORT:-6379}
mkdir -p "$base/rabbitmq/mnesia" "$base/rabbitmq/log" "$base/redis"

rabbit_env() {
  export RABBITMQ_MNESIA_BASE="$base/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$base/rabbitmq/log"
  export RABBITMQ_PID_FILE="$base/rabbitmq/pid" RABBITMQ_ENABLED_PLUGINS_FILE="$base/rabbitmq/enabled_plugins"
  export RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="folio-test@localhost"
  export RABBITMQ_CONFIG_FILE="$base/rabbitmq/rabbitmq" RABBITMQ_DIST_PORT=$((amqp_port + 20000))
  # The /usr/sbin wrappers switch to the rabbitmq user, who cannot write our folder: call the
  # real scripts, with HOME pointing at the folder so the Erlang cookie lives there too.
  export HOME="$base/rabbitmq" PATH="/usr/lib/rabbitmq/bin:$PATH"
  [ -f "$base/rabbitmq/enabled_plugins" ] || echo '[].' > "$base/rabbitmq/enabled_plugins"
  # consumer_timeout: generations can be long; the queue argument overrides it per queue too.
  printf 'loopback_users = none\nconsumer_timeout = 3600000\n' > "$base/rabbitmq/rabbitmq.conf"
}

redis_up() { redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; }
rabbit_up() { (exec 3<>"/dev/tcp/127.0.0.1/$amqp_port") 2>/dev/null; }

start_redis() {
  redis_up && return 0
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --dir "$base/redis" \
    --pidfile "$base/redis/pid" --logfile "$base/redis/log" --appendonly yes --save ''
  for _ in $(seq 1 100); do redis_up && return 0; sleep 0.1; done
  echo "servers.sh: redis did not start; see $base/redis/log" >&2; return 1
}
stop_redis() { redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; for _ in $(seq 1 50); do redis_up || return 0; sleep 0.1; done; }

start_rabbitmq() {
  rabbit_up && return 0
  rabbit_env
  rabbitmq-server -detached >/dev/null 2>&1 || true
  sleep 1
  timeout 90 rabbitmqctl -n "$RABBITMQ_NODENAME" wait "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    if rabbit_up; then return 0; fi
    sleep 0.5
  done
  echo "servers.sh: rabbitmq did not start within 120 s; see $base/rabbitmq/log" >&2; return 1
}
stop_rabbitmq() { rabbit_env; rabbitmqctl -n "$RABBITMQ_NODENAME" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true; }

install_missing() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "servers.sh: installing ${missing[*]} from Debian" >&2
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

case "${1:-}" in
  install) install_missing ;;
  start) start_redis; start_rabbitmq ;;
  stop) stop_rabbitmq; stop_redis ;;
  env)
    echo "export FOLIO_TEST_RABBITMQ_URI=amqp://guest:guest@127.0.0.1:$amqp_port/"
    echo "export FOLIO_TEST_REDIS=127.0.0.1:$redis_port"
    echo "export FOLIO_TEST_SERVERS=$(readlink -f "$0")" ;;
  start-redis) start_redis ;;
  stop-redis) stop_redis ;;
  restart-redis) stop_redis; start_redis ;;
  start-rabbitmq) start_rabbitmq ;;
  stop-rabbitmq) stop_rabbitmq ;;
  restart-rabbitmq) stop_rabbitmq; start_rabbitmq ;;
  *) echo "usage: $0 start|stop|env|start-redis|stop-redis|restart-redis|start-rabbitmq|stop-rabbitmq|restart-rabbitmq" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Starts a 3-node NATS JetStream cluster and 3 masteryd shards (cluster mode, issue 17) on
# loopback, under DIR (default: a new mktemp directory), prints their endpoints and stops
# everything on Ctrl-C. For developers and operators trying cluster mode; see README.md here.
#
#   tests/cluster/start.sh [DIR]
#
# Environment: MASTERYD (default build/bin/masteryd), NATS_SERVER (default nats-server),
# NATS_PORT / ROUTE_PORT / HTTP_PORT (first node's client, route and monitoring ports: 4222,
# 6222, 8222; node i adds i), MASTERYD_PORT (first shard's request port, 7411; its events
# port is one more; shard i adds 10 i), PARTITIONS (12), LEASE_MS (3000).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
masteryd=${MASTERYD:-$root/build/bin/masteryd}
nats_server=${NATS_SERVER:-nats-server}
nats_port=${NATS_PORT:-4222}
route_port=${ROUTE_PORT:-6222}
http_port=${HTTP_PORT:-8222}
masteryd_port=${MASTERYD_PORT:-7411}
partitions=${PARTITIONS:-12}
lease_ms=${LEASE_MS:-3000}
nodes=3

die() {
    echo "start.sh: $*" >&2
    exit 1
}

[[ -x $masteryd ]] || die "no masteryd at $masteryd (build it: make build, or set MASTERYD)"
command -v "$nats_server" >/dev/null || die "no $nats_server (Debian: apt-get install nats-server)"

if [[ $# -ge 1 ]]; then
    dir=$1
    mkdir -p "$dir"
else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/masteryd-cluster.XXXXXX")
fi
dir=$(cd "$dir" && pwd)

pids=()
stop_all() {
    trap - EXIT
    trap '' INT TERM # a second Ctrl-C does not cut the stop short
    echo "stopping..." >&2
    # Shards first (they release their leases), then the NATS nodes; newest first.
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "stopped; data kept in $dir" >&2
}
trap stop_all EXIT
trap 'exit 130' INT TERM # the EXIT trap stops everything

# Waits until file $1 contains $2, or $3 seconds pass, or pid $4 exits.
wait_for_line() {
    local file=$1 text=$2 seconds=$3 pid=$4 n=0
    while ! grep -q -- "$text" "$file" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "process $pid exited; see $file"
        ((n++ < seconds * 10)) || die "no '$text' in $file after $seconds s"
        sleep 0.1
    done
}

urls=""
for ((i = 0; i < nodes; i++)); do
    routes=""
    for ((j = 0; j < nodes; j++)); do
        ((j == i)) && continue
        routes+="${routes:+, }nats-route://127.0.0.1:$((route_port + j))"
    done
    mkdir -p "$dir/nats$i"
    cat >"$dir/nats$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((nats_port + i))
http: 127.0.0.1:$((http_port + i))
jetstream {
  store_dir: "$dir/nats$i"
  max_file_store: 10GB
}
cluster {
  name: masteryd
  listen: 127.0.0.1:$((route_port + i))
  routes: [$routes]
}
CONF
    "$nats_server" -c "$dir/nats$i.conf" >"$dir/nats$i.log" 2>&1 &
    pids+=($!)
    urls+="${urls:+,}nats://127.0.0.1:$((nats_port + i))"
done
for ((i = 0; i < nodes; i++)); do
    wait_for_line "$dir/nats$i.log" "Server is ready" 30 "${pids[i]}"
done
# JetStream answers once the nodes have elected a meta leader.
for ((i = 0; i < nodes; i++)); do
    wait_for_line "$dir/nats$i.log" "metadata leader" 30 "${pids[i]}"
done

mkdir -p "$dir/keys"
chmod 700 "$dir/keys"
for ((i = 0; i < nodes; i++)); do
    port=$((masteryd_port + 10 * i))
    cat >"$dir/shard$i.conf" <<CONF
data_dir = $dir/shard$i
listen = tcp://127.0.0.1:$port
events = tcp://127.0.0.1:$((port + 1))
key_dir = $dir/keys
cluster_nats = $urls
cluster_node = $i
cluster_nodes = $nodes
cluster_partitions = $partitions
cluster_replicas = 3
cluster_lease_ms = $lease_ms
CONF
    # Development mode (-d): no authentication, loopback only. Shard 0 starts alone first:
    # it creates the issuer keys the other two share (cluster mode adopts them).
    "$masteryd" -d -c "$dir/shard$i.conf" 2>>"$dir/shard$i.log" &
    pids+=($!)
    wait_for_line "$dir/shard$i.log" "ready" 60 "${pids[-1]}"
done

cat <<INFO
masteryd cluster under $dir
  NATS:      $urls
  NATS monitoring: $(for ((i = 0; i < nodes; i++)); do printf 'http://127.0.0.1:%d ' $((http_port + i)); done)
INFO
for ((i = 0; i < nodes; i++)); do
    port=$((masteryd_port + 10 * i))
    echo "  shard $i:   requests tcp://127.0.0.1:$port  events tcp://127.0.0.1:$((port + 1))  log $dir/shard$i.log"
done
ctl=$(dirname "$masteryd")/masteryctl
cat <<INFO
Try:
  $ctl -e tcp://127.0.0.1:$((masteryd_port + 10)) framework load $root/schemas/examples/fractions.json
  $ctl -e tcp://127.0.0.1:$((masteryd_port + 20)) evidence import $root/schemas/examples/fractions-evidence.jsonl
  $ctl -e tcp://127.0.0.1:$masteryd_port learner show s-1001
Ctrl-C stops everything.
INFO

# Until Ctrl-C, or until any process exits (then everything stops).
wait -n "${pids[@]}" || true
echo "a process exited; see the logs in $dir" >&2

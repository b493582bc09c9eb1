#!/usr/bin/env bash
# The Open Inference Protocol table of docs/performance.md (issue 31): msdnet-large in stage
# mode, one image per request, δ = DELTA, loopback only.
#   A. one replica: each protocol's peak (closed loop, 512 clients) — /v1/classify raw pixels,
#      OIP binary tensor data, OIP JSON — the three in turn within each round; full mode's peak
#      (v1 raw); then p50/p99 of each protocol at 70 % of full mode's peak (open loop, Poisson).
#   B. behind HAProxy: the OIP binary peak of one replica direct, of the same replica through
#      HAProxy (the balancer's own cost), and of three replicas through HAProxy (2 cores: three
#      replicas share them).
# Needs a release build (cargo build --release -p pcee-cli -p pcee-serve), haproxy, jq.
# Usage: crates/pcee-serve/bench/oip-table.sh [OUT_DIR]; env ROUNDS, SECONDS_PER_RUN, DELTA.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-target/oip-bench}
delta=${DELTA:-0.9}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-8}
bin=${BIN:-target/release}
model=msdnet-large
mkdir -p "$out"
: > "$out/runs.jsonl"
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null || true' EXIT

serve() { # port mode -> pid in $pid
  "$bin/pcee" serve --model "assets/models/$model.safetensors" --policy "$out/policy.json" \
    --name "$model" --addr "127.0.0.1:$1" --mode "$2" > "$out/serve-$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_ready "$1"
}

wait_ready() { # port
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$1/v2/health/ready" > /dev/null && return 0
    sleep 0.05
  done
  echo "nothing ready on port $1" >&2; exit 1
}

load() { # port api tag... -> one JSON line in runs.jsonl
  local port=$1 api=$2 tag=$3; shift 3
  "$bin/pcee-load" --addr "127.0.0.1:$port" --api "$api" --model "$model" --delta "$delta" \
    --json "$@" | jq -c --arg api "$api" --argjson tag "$tag" '$tag + {api: $api} + .' >> "$out/runs.jsonl"
}

peak() { # port api tag
  "$bin/pcee-load" --addr "127.0.0.1:$1" --api "$2" --model "$model" --delta "$delta" \
    --clients 64 --requests 2000 --duration 2 > /dev/null   # warm-up
  load "$1" "$2" "$3" --clients 512 --requests 200000 --duration "$seconds"
}

if [ ! -f "$out/policy.json" ]; then
  "$bin/pcee" logits --model "assets/models/$model.safetensors" --split val --out "$out/val.npz"
  "$bin/pcee" calibrate --val "$out/val.npz" --method pcee --delta "$delta" --output "$out/policy.json"
fi

# A. One replica.
for r in $(seq "$rounds"); do
  serve 18101 stage; s=$pid
  for api in v1-raw oip-binary oip-json; do
    peak 18101 "$api" '{"part": "A", "kind": "peak", "mode": "stage", "round": '"$r"'}'
  done
  kill -TERM "$s"; wait "$s" || true
  serve 18101 full; s=$pid
  peak 18101 v1-raw '{"part": "A", "kind": "peak", "mode": "full", "round": '"$r"'}'
  kill -TERM "$s"; wait "$s" || true
done
full=$(jq -s '[.[] | select(.mode == "full") | .images_per_second] | sort | .[length/2|floor]' "$out/runs.jsonl")
rate=$(python3 -c "print(round(0.7 * $full, 1))")
serve 18101 stage; s=$pid
for r in $(seq "$rounds"); do
  for api in v1-raw oip-binary oip-json; do
    load 18101 "$api" '{"part": "A", "kind": "rate", "mode": "stage", "rate": '"$rate"', "round": '"$r"'}' \
      --rate "$rate" --requests 200000 --duration "$seconds" --seed "$r"
  done
done
kill -TERM "$s"; wait "$s" || true

# B. Behind HAProxy.
config() { # ports...
  printf 'global\n    tune.bufsize 262144\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    maxconn 4096\nlisten oip\n    bind 127.0.0.1:18100\n    balance leastconn\n    http-reuse always\n'
  for p in "$@"; do printf '    server r%s 127.0.0.1:%s maxconn 512\n' "$p" "$p"; done
}
for r in $(seq "$rounds"); do
  for replicas in 1 3; do
    ports=$(seq 18101 $((18100 + replicas)))
    for p in $ports; do serve "$p" stage; done
    config $ports > "$out/haproxy.cfg"
    haproxy -db -f "$out/haproxy.cfg" > "$out/haproxy.log" 2>&1 &
    h=$!; pids+=("$h"); wait_ready 18100
    [ "$replicas" = 1 ] && peak 18101 oip-binary '{"part": "B", "kind": "peak", "path": "direct", "replicas": 1, "round": '"$r"'}'
    peak 18100 oip-binary '{"part": "B", "kind": "peak", "path": "haproxy", "replicas": '"$replicas"', "round": '"$r"'}'
    kill -TERM "$h"; wait "$h" || true
    for p in $ports; do pkill -TERM -f "127.0.0.1:$p" || true; done
    sleep 1
  done
done
python3 crates/pcee-serve/bench/oip-table.py "$out/runs.jsonl"

#!/usr/bin/env bash
# The load table of docs/performance.md ("pcee serve: stage vs shrink vs full"): for each model,
# each mode's peak throughput (closed loop) and p50/p99 latency at open-loop Poisson rates that
# are fractions of `full` mode's peak. One image per request, δ = DELTA, loopback only.
# Needs a release build: cargo build --release -p pcee-cli -p pcee-serve
# Usage: crates/pcee-serve/bench/load-table.sh [OUT_DIR]
#   env: MODELS, DELTA, ROUNDS, SECONDS_PER_RUN, FRACTIONS (of full mode's peak), PEAKS=0 (reuse
#   the peaks already in OUT_DIR/runs.jsonl). Each mode's /metrics is saved after its runs.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-target/serve-bench}
models=${MODELS:-"msdnet-large vit-small"}
delta=${DELTA:-0.9}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-10}
fractions=${FRACTIONS:-"0.3 0.5 0.7 0.9"}
bin=target/release
mkdir -p "$out"
port=18080

start() { # model mode
  "$bin/pcee" serve --model "assets/models/$1.safetensors" --policy "$out/$1-policy.json" \
    --addr "127.0.0.1:$port" --mode "$2" --stage-wait-ms 100 > "$out/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && return 0
    sleep 0.05
  done
  echo "server did not start: $(cat "$out/serve.log")" >&2; exit 1
}

stop() { # tag
  curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-$1.txt"
  kill -TERM "$server"; wait "$server"
}
trap 'kill -TERM "${server:-}" 2>/dev/null || true' EXIT

load() { # args... -> JSON line
  "$bin/pcee-load" --addr "127.0.0.1:$port" --delta "$delta" --json "$@"
}

for model in $models; do
  if [ ! -f "$out/$model-policy.json" ]; then
    "$bin/pcee" logits --model "assets/models/$model.safetensors" --split val --out "$out/$model-val.npz"
    "$bin/pcee" calibrate --val "$out/$model-val.npz" --method pcee --delta "$delta" --output "$out/$model-policy.json"
  fi
  # Peaks: the three modes in turn within each round, so that drift in the machine's load
  # affects them alike.
  for r in $(seq "$rounds"); do
    [ "${PEAKS:-1}" = 0 ] && break
    for mode in full stage shrink; do
      start "$model" "$mode"
      load --clients 64 --requests 2000 --duration 3 > /dev/null   # warm-up
      load --clients 512 --requests 200000 --duration "$seconds" | jq -c --arg m "$model" --arg mode "$mode" \
        '{model: $m, mode: $mode, kind: "peak", round: '"$r"'} + .' >> "$out/runs.jsonl"
      stop "$model-$mode-peak"
    done
  done
  full_peak=$(jq -s --arg m "$model" '[.[] | select(.model == $m and .mode == "full" and .kind == "peak") | .images_per_second] | sort | .[length/2|floor]' "$out/runs.jsonl")
  for mode in full stage shrink; do
    start "$model" "$mode"
    for f in $fractions; do
      rate=$(python3 -c "print(round($f * $full_peak, 1))")
      for r in $(seq "$rounds"); do
        load --rate "$rate" --requests 200000 --duration "$seconds" --seed "$r" | jq -c --arg m "$model" --arg mode "$mode" \
          '{model: $m, mode: $mode, kind: "rate", fraction: '"$f"', round: '"$r"'} + .' >> "$out/runs.jsonl"
      done
    done
    stop "$model-$mode-rates"
  done
done
python3 crates/pcee-serve/bench/table.py "$out/runs.jsonl"

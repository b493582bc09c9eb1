#!/usr/bin/env bash
# pcee against PyTorch, side by side, on the same machine, networks, weights and images (issue 6).
#
# What it does, in order:
#  1. creates the venv bench/.venv from bench/pytorch/requirements.txt if it is missing;
#  2. builds target/release/pcee if it is missing (or uses $PCEE_BIN);
#  3. per model: validation logits + `pcee calibrate --method pcee` → a policy file;
#  4. agreement: `pcee logits --split test --limit A` against the PyTorch network (agree.py),
#     and the policy's exits of pcee (`pcee infer --decisions`) against PyTorch's;
#  5. timing: for every δ and batch (1 and 256), REPS repetitions alternating `pcee infer
#     --json` (early exit and full depth) and bench/pytorch/bench.py (full, mask, shrink; for
#     MSDNet in both NCHW and channels_last), pcee first in odd repetitions, PyTorch first in
#     even ones; PyTorch's figure is its best way;
#  6. prints one table (medians over repetitions) and writes it to OUT/table.md, OUT/results.json.
# ONNX Runtime rows (unless --no-onnx; bench/onnx/): the venv also gets bench/onnx/requirements.txt
# (onnx, onnxruntime), pcee is built with `--features onnx`, and per model the PyTorch twin is
# exported with examples/python/export_stages.py (stage graphs + the whole network as one graph,
# opset 17) into OUT/onnx/; agreement adds bench/onnx/pytorch_agree.py (pcee-ORT early exit vs
# the twin's own in PyTorch, logits ORT vs PyTorch); timing adds (a) ONNX Runtime's own Python
# session on the full graph (bench/onnx/ort_bench.py, intra-op threads = THREADS) and (b) pcee's
# ORT backend, `pcee infer --stages OUT/onnx/NAME.stages --json` (early exit and full depth; it
# uses one intra-op thread per core, so THREADS should be nproc), ORT_DYLIB_PATH = the venv's
# onnxruntime library unless set. The four runners go in one order in odd repetitions and in
# the reverse order in even ones.
#
# Usage: bench/compare.sh [--reps 3] [--rounds 3] [--images 2048] [--images1 200]
#          [--agree-images 1000] [--deltas 0.9] [--batches "1 256"] [--threads N]
#          [--models "PATH.safetensors ..."] [--omp-passive] [--tch-bin PATH] [--malloc-tuned]
#          [--no-onnx] [--out bench/out]
#   --rounds       timed rounds inside each process (pcee infer --repeat, bench.py --repeat)
#   --images       test images timed at batch > 1; --images1: at batch 1
#   --omp-passive  OMP_WAIT_POLICY=PASSIVE for PyTorch and the tch build (use when the cores are shared: libgomp's
#                  spinning threads collapse under contention — see bench/README.md)
#   --tch-bin      a pcee binary built with burn's tch backend: its rows are added (bench/README.md)
#   --malloc-tuned also runs pcee with glibc's mmap/trim thresholds raised (GLIBC_TUNABLES), so
#                  freed tensor buffers are reused instead of unmapped and page-faulted afresh
#                  on every op — an extra column (see bench/README.md, "Where pcee loses")
#   --no-onnx      leave out the ONNX Runtime rows (no onnx/onnxruntime install, no onnx feature)
# Defaults take about 10 minutes on 2 idle cores. Heavy work runs under `nice` only if you ask
# (e.g. `nice -n 19 bench/compare.sh`). Errors: one line on stderr, exit code 1.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPS=3 ROUNDS=3 IMAGES=2048 IMAGES1=200 AGREE=1000 DELTAS="0.9" BATCHES="1 256"
THREADS="$(nproc)" OUT="bench/out" OMP_PASSIVE=0 TCH_BIN="" MALLOC_TUNED=0 ONNX=1
MODELS="assets/models/msdnet-small.safetensors assets/models/msdnet-large.safetensors assets/models/vit-small.safetensors"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --images) IMAGES="$2"; shift 2 ;;
    --images1) IMAGES1="$2"; shift 2 ;;
    --agree-images) AGREE="$2"; shift 2 ;;
    --deltas) DELTAS="$2"; shift 2 ;;
    --batches) BATCHES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --omp-passive) OMP_PASSIVE=1; shift ;;
    --tch-bin) TCH_BIN="$2"; shift 2 ;;
    --malloc-tuned) MALLOC_TUNED=1; shift ;;
    --no-onnx) ONNX=0; shift ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) die "$1: unknown option; see bench/compare.sh --help" ;;
  esac
done
for n in "$REPS" "$ROUNDS" "$IMAGES" "$IMAGES1" "$AGREE" "$THREADS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "$n: expected a positive integer for --reps/--rounds/--images/--images1/--agree-images/--threads"
done
for m in $MODELS; do
  [ -f "$m" ] || die "$m: model weights not found; expected a .safetensors written by pcee train"
  [ -f "${m%.safetensors}.json" ] || die "${m%.safetensors}.json: model card not found beside $m"
done
[ -z "$TCH_BIN" ] || [ -x "$TCH_BIN" ] || die "$TCH_BIN: --tch-bin is not an executable"

# 1. The PyTorch venv (marker = hash of requirements.txt, so a changed pin reinstalls).
VENV="bench/.venv"
REQ="bench/pytorch/requirements.txt"
MARK="$VENV/.installed-$(sha256sum "$REQ" | cut -c1-16)"
if [ ! -f "$MARK" ]; then
  command -v python3 >/dev/null || die "python3: not found; expected Python ≥ 3.10 to create $VENV"
  echo "== creating $VENV (torch from PyPI, ~5.5 GB with its CUDA wheels; a few minutes)" >&2
  python3 -m venv "$VENV" || die "$VENV: python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet -r "$REQ" || die "$REQ: pip install failed"
  touch "$MARK"
fi
PY="$VENV/bin/python"
"$PY" -c "import torch, safetensors, numpy" 2>/dev/null || die "$VENV: torch/safetensors/numpy do not import; delete $VENV and rerun"
if [ "$ONNX" = 1 ]; then
  OREQ="bench/onnx/requirements.txt"
  OMARK="$VENV/.installed-onnx-$(sha256sum "$OREQ" | cut -c1-16)"
  if [ ! -f "$OMARK" ]; then
    echo "== installing $OREQ into $VENV (onnx, onnxruntime)" >&2
    "$VENV/bin/pip" install --quiet -r "$OREQ" || die "$OREQ: pip install failed"
    touch "$OMARK"
  fi
  "$PY" -c "import onnx, onnxruntime" 2>/dev/null || die "$VENV: onnx/onnxruntime do not import; rerun after: $VENV/bin/pip install -r $OREQ"
  if [ -z "${ORT_DYLIB_PATH:-}" ]; then
    ORT_DYLIB_PATH="$("$PY" -c 'import glob, os, onnxruntime; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))[0])')"
  fi
  [ -f "$ORT_DYLIB_PATH" ] || die "$ORT_DYLIB_PATH: ORT_DYLIB_PATH is not a file; expected libonnxruntime.so"
  export ORT_DYLIB_PATH
fi

# 2. The pcee binary.
PCEE="${PCEE_BIN:-${CARGO_TARGET_DIR:-target}/release/pcee}"
if [ ! -x "$PCEE" ]; then
  command -v cargo >/dev/null || die "cargo: not found; expected a Rust toolchain to build pcee (or set PCEE_BIN)"
  FEATURES=(); [ "$ONNX" = 1 ] && FEATURES=(--features onnx)
  echo "== building pcee (release; ~11 min from clean on 2 cores)" >&2
  cargo build --release -p pcee-cli "${FEATURES[@]}" >&2 || die "cargo build --release -p pcee-cli ${FEATURES[*]} failed"
fi
[ -x "$PCEE" ] || die "$PCEE: no pcee binary after the build"
if [ "$ONNX" = 1 ] && ! "$PCEE" export --help >/dev/null 2>&1; then
  die "$PCEE: built without the onnx feature; rebuild with cargo build --release -p pcee-cli --features onnx (or pass --no-onnx)"
fi
[ "$ONNX" = 1 ] && [ "$THREADS" != "$(nproc)" ] && \
  echo "warning: --threads $THREADS but pcee's ORT backend uses one intra-op thread per core ($(nproc))" >&2

mkdir -p "$OUT/runs" "$OUT/policies" "$OUT/onnx"
rm -f "$OUT"/runs/*.json "$OUT"/*.agree.json "$OUT"/*.onnx-agree.json
export RAYON_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
TORCH_ENV=(env)
[ "$OMP_PASSIVE" = 1 ] && TORCH_ENV=(env OMP_WAIT_POLICY=PASSIVE)
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE="$(load)"
START=$(date +%s)

for m in $MODELS; do
  name="$(basename "${m%.safetensors}")"
  arch="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["arch"])' "${m%.safetensors}.json")"
  pol="$OUT/policies/$name.policy.json"
  # 3. Policy (recomputed when the model is newer than it).
  if [ ! -f "$pol" ] || [ "$m" -nt "$pol" ]; then
    echo "== $name: validation logits and policy" >&2
    "$PCEE" logits --model "$m" --split val --out "$OUT/policies/$name.val.npz" >/dev/null
    "$PCEE" calibrate --val "$OUT/policies/$name.val.npz" --method pcee --bins 10 --output "$pol" >/dev/null
  fi
  # 4. Agreement (logits and exits) on the first AGREE test images.
  echo "== $name: agreement on $AGREE test images" >&2
  first_delta="${DELTAS%% *}"
  "$PCEE" logits --model "$m" --split test --limit "$AGREE" --out "$OUT/$name.test.npz" >/dev/null
  "$PCEE" infer --model "$m" --policy "$pol" --delta "$first_delta" --limit "$AGREE" --repeat 1 \
    --json --decisions > "$OUT/$name.decisions.json"
  "$PY" bench/pytorch/agree.py --model "$m" --logits "$OUT/$name.test.npz" --threads "$THREADS" \
    --policy "$pol" --delta "$first_delta" --decisions "$OUT/$name.decisions.json" \
    --json "$OUT/$name.agree.json" >&2 || die "$name: PyTorch and pcee logits disagree (see $OUT/$name.agree.json)"
  stages="$OUT/onnx/$name.stages" fullg="$OUT/onnx/$name.full.onnx"
  if [ "$ONNX" = 1 ]; then
    # The PyTorch twin as ONNX (recomputed when the model or the exporter is newer).
    if [ ! -f "$stages/pcee-stages.json" ] || [ ! -f "$fullg" ] || [ "$m" -nt "$fullg" ] \
       || [ examples/python/export_stages.py -nt "$fullg" ]; then
      echo "== $name: torch.onnx.export of the PyTorch twin (stage graphs and full graph)" >&2
      "$PY" examples/python/export_stages.py --model "$m" --out "$stages" --full "$fullg" >&2 \
        || die "$name: examples/python/export_stages.py failed"
    fi
    "$PY" bench/onnx/pytorch_agree.py --model "$m" --stages "$stages" --policy "$pol" --delta "$first_delta" \
      --limit "$AGREE" --threads "$THREADS" --pcee "$PCEE" --model-decisions \
      --json "$OUT/$name.onnx-agree.json" >&2 || die "$name: pcee-ORT and PyTorch disagree (see $OUT/$name.onnx-agree.json)"
  fi
  # 5. Timing.
  for d in $DELTAS; do
    for b in $BATCHES; do
      n=$IMAGES; [ "$b" = 1 ] && n=$IMAGES1
      for r in $(seq 1 "$REPS"); do
        tag="$OUT/runs/${name}_d${d}_b${b}_r${r}"
        run_pcee() {
          "$PCEE" infer --model "$m" --policy "$pol" --delta "$d" --batch "$b" --limit "$n" \
            --repeat "$ROUNDS" --json > "$tag.pcee.json"
          if [ "$MALLOC_TUNED" = 1 ]; then
            GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296" \
              "$PCEE" infer --model "$m" --policy "$pol" --delta "$d" --batch "$b" --limit "$n" \
              --repeat "$ROUNDS" --json > "$tag.pceem.json"
          fi
          if [ -n "$TCH_BIN" ]; then
            "${TORCH_ENV[@]}" "$TCH_BIN" infer --model "$m" --policy "$pol" --delta "$d" --batch "$b" --limit "$n" \
              --repeat "$ROUNDS" --json > "$tag.tch.json"
          fi
        }
        run_torch() {
          "${TORCH_ENV[@]}" "$PY" bench/pytorch/bench.py --model "$m" --policy "$pol" --delta "$d" \
            --batch "$b" --limit "$n" --repeat "$ROUNDS" --threads "$THREADS" --json "$tag.torch.json" >/dev/null
          if [ "$arch" = msdnet ]; then  # and in channels_last (NHWC), often PyTorch's faster way
            "${TORCH_ENV[@]}" "$PY" bench/pytorch/bench.py --model "$m" --policy "$pol" --delta "$d" \
              --batch "$b" --limit "$n" --repeat "$ROUNDS" --threads "$THREADS" --channels-last \
              --json "$tag.torch-cl.json" >/dev/null
          fi
        }
        run_pcee_ort() {
          "$PCEE" infer --stages "$stages" --policy "$pol" --delta "$d" --batch "$b" --limit "$n" \
            --repeat "$ROUNDS" --json > "$tag.ort.json"
        }
        run_ort_py() {
          "$PY" bench/onnx/ort_bench.py --full-graph "$fullg" --batch "$b" --limit "$n" \
            --repeat "$ROUNDS" --threads "$THREADS" --json "$tag.ortpy.json" >/dev/null
        }
        runners=(run_pcee run_torch)
        [ "$ONNX" = 1 ] && runners=(run_pcee run_torch run_pcee_ort run_ort_py)
        echo "== $name δ=$d batch=$b images=$n repetition $r/$REPS" >&2
        if [ $((r % 2)) = 1 ]; then
          for f in "${runners[@]}"; do "$f"; done
        else
          for ((i = ${#runners[@]} - 1; i >= 0; i--)); do "${runners[$i]}"; done
        fi
      done
    done
  done
done

TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
ORT_VERSION="$([ "$ONNX" = 1 ] && "$PY" -c 'import onnxruntime; print("onnxruntime " + onnxruntime.__version__)' || echo "")"
cat > "$OUT/conditions.json" <<EOF
{"threads": $THREADS, "torch": "torch $TORCH_VERSION", "onnxruntime": "$ORT_VERSION", "omp_wait_policy": "$([ "$OMP_PASSIVE" = 1 ] && echo PASSIVE || echo default)",
 "load_before": "$LOAD_BEFORE", "load_after": "$(load)", "seconds": $(( $(date +%s) - START )),
 "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')", "date": "$(date -u +%FT%TZ)"}
EOF
"$PY" bench/pytorch/table.py "$OUT"

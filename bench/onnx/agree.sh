#!/usr/bin/env bash
# ONNX export agreement on the shipped models (docs/performance.md, "ONNX export agreement").
#
# For each model: `pcee export` to stage graphs; every exit's logits of the first N test images
# by burn (`pcee logits`) and by ONNX Runtime's own Python sessions on the exported graphs
# (bench/onnx/agree.py logits), max |Δlogit|; a policy calibrated on burn's validation logits
# (5 000 images) for each δ, and the early-exit decisions of `pcee infer --stages DIR` against
# `pcee infer --model FILE` (both --json --decisions, same images), differing rows counted and
# each explained (bin edge / argmax tie / unexplained; agree.py compare), plus `pcee evaluate`'s
# exit fractions on burn's logits against ONNX Runtime's run. Prints one Markdown table row per
# (model, δ) and writes every file it used under --out.
#
# Needs: a pcee built with `--features onnx` (default target/release/pcee), ORT_DYLIB_PATH
# naming libonnxruntime (default: the one in --python's onnxruntime package), a Python with
# numpy and onnxruntime (default /root/venvs/ort/bin/python, else python3), Fashion-MNIST.
set -euo pipefail
die() { echo "error: $*" >&2; exit 1; }
usage() {
  cat <<'EOF'
usage: bench/onnx/agree.sh [--models "msdnet-small msdnet-large vit-small"] [--limit 2000]
                           [--deltas 0.85,0.9] [--method pcee] [--out target/onnx-agree]
                           [--pcee target/release/pcee] [--python PY]
Exports each assets/models/NAME.safetensors, compares ONNX Runtime's per-exit logits with
`pcee logits` on the first --limit test images (max |Δlogit|), and `pcee infer --stages`
decisions with `pcee infer --model` for a --method policy calibrated on validation logits at
each δ. One Markdown row per (model, δ) on stdout; full JSON reports under --out.
EOF
}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODELS="msdnet-small msdnet-large vit-small"
LIMIT=2000
DELTAS="0.85,0.9"
METHOD=pcee
OUT="$ROOT/target/onnx-agree"
PCEE="$ROOT/target/release/pcee"
PY=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --models|--limit|--deltas|--method|--out|--pcee|--python)
      [ $# -ge 2 ] || die "$1: missing value; see --help"
      case "$1" in
        --models) MODELS="$2" ;; --limit) LIMIT="$2" ;; --deltas) DELTAS="$2" ;;
        --method) METHOD="$2" ;; --out) OUT="$2" ;; --pcee) PCEE="$2" ;; --python) PY="$2" ;;
      esac
      shift 2 ;;
    *) die "$1: unknown argument; see --help" ;;
  esac
done
[[ "$LIMIT" =~ ^[1-9][0-9]*$ ]] || die "--limit: $LIMIT; expected a positive integer"
case "$METHOD" in confidence|pcee|pcee-ws) ;; *) die "--method: $METHOD; expected confidence, pcee or pcee-ws" ;; esac
[ -x "$PCEE" ] || die "$PCEE: not an executable; expected a pcee built with 'cargo build --release -p pcee-cli --features onnx' (or pass --pcee)"
"$PCEE" export --help >/dev/null 2>&1 || die "$PCEE: has no 'export' command; expected a build with --features onnx"
if [ -z "$PY" ]; then
  if [ -x /root/venvs/ort/bin/python ]; then PY=/root/venvs/ort/bin/python; else PY=python3; fi
fi
"$PY" -c 'import numpy, onnxruntime' 2>/dev/null || die "$PY: cannot import numpy and onnxruntime; expected a Python with both (pip install -r bench/onnx/requirements.txt) or pass --python"
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  ORT_DYLIB_PATH="$("$PY" -c 'import glob, os, onnxruntime; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))[0])' 2>/dev/null)" \
    || die "$PY: its onnxruntime package has no libonnxruntime.so; expected one, or set ORT_DYLIB_PATH"
fi
export ORT_DYLIB_PATH
mkdir -p "$OUT" || die "$OUT: cannot create the directory"

# Runs a command, its output to FILE; on failure one line naming the step and pcee's last line.
step() {
  local file="$1"; shift
  if ! "$@" >"$file" 2>"$file.err"; then
    die "$(basename "$1") ${2:-}: $(tail -n 1 "$file.err") (full output: $file.err)"
  fi
}

echo "| model | images | max abs Δlogit (per exit) | method, δ | exit fractions (ORT) | decisions differing | bin edge | unexplained | evaluate = ORT |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for name in $MODELS; do
  model="$ROOT/assets/models/$name.safetensors"
  [ -f "$model" ] || die "$model: not found; expected one of the shipped models (--models)"
  dir="$OUT/$name"
  mkdir -p "$dir"
  step "$dir/export.txt" "$PCEE" export --model "$model" --out "$dir/stages"
  step "$dir/logits-test.txt" "$PCEE" logits --model "$model" --split test --limit "$LIMIT" --out "$dir/burn-test.npz"
  step "$dir/logits-val.txt" "$PCEE" logits --model "$model" --split val --out "$dir/burn-val.npz"
  step "$dir/ort-logits.txt" "$PY" "$HERE/agree.py" logits --stages "$dir/stages" --limit "$LIMIT" --out "$dir/ort-test.npz"
  for delta in ${DELTAS//,/ }; do
    tag="$METHOD-$delta"
    policy="$dir/policy-$tag.json"
    step "$dir/calibrate-$tag.txt" "$PCEE" calibrate --val "$dir/burn-val.npz" --method "$METHOD" --delta "$delta" --output "$policy"
    for side in model stages; do
      src="$model"; [ "$side" = stages ] && src="$dir/stages"
      step "$dir/infer-$side-$tag.json" "$PCEE" infer --"$side" "$src" --policy "$policy" \
        --split test --limit "$LIMIT" --repeat 1 --json --decisions
    done
    step "$dir/evaluate-$tag.json" "$PCEE" evaluate --policy "$policy" --test "$dir/burn-test.npz" --json
    step "$dir/compare-$tag.json" "$PY" "$HERE/agree.py" compare --burn "$dir/burn-test.npz" \
      --ort "$dir/ort-test.npz" --policy "$policy" --infer-burn "$dir/infer-model-$tag.json" \
      --infer-ort "$dir/infer-stages-$tag.json" --evaluate "$dir/evaluate-$tag.json"
    "$PY" - "$dir/compare-$tag.json" "$name" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
per = ", ".join(f"{v:.1e}" for v in r["max_abs_logit_diff_per_exit"])
fr = " / ".join(f"{100 * v:.1f}" for v in r["exit_fractions_ort"])
print(f"| {sys.argv[2]} | {r['images']} | {r['max_abs_logit_diff']:.1e} ({per}) | {r['method']}, {r['delta']} "
      f"| {fr} % | {r['decisions_differ']} | {r['bin_edge']} | {r['unexplained']} "
      f"| {'yes' if r['evaluate_fractions_equal_ort'] else 'no'} |")
EOF
  done
done

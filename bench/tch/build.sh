#!/usr/bin/env bash
# Builds bench/tch (pcee's infer timing on burn's tch backend) into bench/tch/target (git-ignored)
# against the libtorch of PyPI's torch 2.9.0 — the version tch 0.22 is written for — installed
# into its own venv bench/.venv-tch (LIBTORCH_USE_PYTORCH=1), and prints the path of a wrapper
# that sets LD_LIBRARY_PATH for it. The main bench venv keeps the current torch: torch ≥ 2.10's
# headers need C++20 and lack functions tch's shim calls, so it cannot serve here.
# Run: bench/tch/build.sh   (~5 GB venv, ~15 min of compiling on 2 cores, own target dir).
set -euo pipefail
die() { echo "error: $*" >&2; exit 1; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/../.venv-tch"
MARK="$VENV/.installed-$(sha256sum "$HERE/requirements.txt" | cut -c1-16)"
if [ ! -f "$MARK" ]; then
  command -v python3 >/dev/null || die "python3: not found; expected Python ≥ 3.10"
  python3 -m venv "$VENV" || die "$VENV: python3 -m venv failed"
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt" || die "$HERE/requirements.txt: pip install failed"
  touch "$MARK"
fi
command -v cargo >/dev/null || die "cargo: not found; expected a Rust toolchain"
cd "$HERE"
[ -f Cargo.lock ] || cp ../../Cargo.lock Cargo.lock  # start from the workspace's versions
TORCH_LIB="$("$VENV/bin/python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
PATH="$VENV/bin:$PATH" LIBTORCH_USE_PYTORCH=1 CARGO_TARGET_DIR="$HERE/target" \
  cargo build --release >&2 || die "bench/tch: cargo build failed (see above)"
BIN="$HERE/target/release/pcee-tch"
cat > "$HERE/target/pcee-tch" <<WRAP
#!/usr/bin/env bash
LD_LIBRARY_PATH="$TORCH_LIB\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$BIN" "\$@"
WRAP
chmod +x "$HERE/target/pcee-tch"
echo "$HERE/target/pcee-tch"

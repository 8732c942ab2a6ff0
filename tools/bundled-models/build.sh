#!/usr/bin/env bash
# Build Sparsebook's bundled models from nothing: install the datasets, build the corpus, train the
# tokenizer, tokenize with the runtime, train the three models, write the cards, verify the files.
#
#   tools/bundled-models/build.sh            # every step
#   tools/bundled-models/build.sh train-moe-micro report verify   # chosen steps, in the order given
#
# Steps: datasets corpus tokenizer tokenize train-dense train-moe-micro train-moe-global report verify
# ("train" = the three train-* steps). Needs: Node 20 with the repo's node_modules installed (npm ci
# at the repo root: tsx and the packages whose source is the code domain), and Debian's
#   apt-get install python3-torch python3-sentencepiece libopenblas0-pthread
# for /usr/bin/python3 (not a pyenv/venv python). Step times go to $WORK/logs/times.txt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-$HERE/work}"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$WORK/logs"
cd "$REPO"

"$PY" -c 'import torch, sentencepiece' 2>/dev/null || {
  echo "build.sh: $PY lacks torch/sentencepiece: apt-get install python3-torch python3-sentencepiece libopenblas0-pthread" >&2
  exit 1
}
[ -f node_modules/tsx/package.json ] || { echo "build.sh: run npm ci in $REPO first" >&2; exit 1; }

timed() {
  local name="$1"
  shift
  local t0
  t0=$(date +%s)
  echo "== $name: $*"
  "$@" 2>&1 | tee "$WORK/logs/$name.log"
  local dt=$(($(date +%s) - t0))
  echo "$name ${dt}s $(date -u +%FT%TZ)" >>"$WORK/logs/times.txt"
  echo "== $name: ${dt} s"
}

step() {
  case "$1" in
    datasets) timed datasets npm ci --prefix "$HERE" --ignore-scripts --no-audit --no-fund ;;
    corpus) timed corpus "$PY" "$HERE/corpus.py" --work "$WORK" ;;
    tokenizer) timed tokenizer "$PY" "$HERE/tokenizer.py" --work "$WORK" ;;
    tokenize)
      timed tokenize node --import ./cli/register.mjs "$HERE/tokenize.ts" \
        "$WORK/tokenizer/tokenizer.bin" "$WORK" public/models/corpus
      ;;
    train-dense | train-moe-micro | train-moe-global)
      timed "$1" "$PY" "$HERE/train.py" --model "sparsebook-${1#train-}" --work "$WORK"
      ;;
    train) for s in train-dense train-moe-micro train-moe-global; do step "$s"; done ;;
    report) timed report "$PY" "$HERE/report.py" --work "$WORK" ;;
    verify) timed verify "$PY" "$HERE/verify.py" --work "$WORK" ;;
    *) echo "build.sh: unknown step $1" >&2; exit 2 ;;
  esac
}

if [ $# -eq 0 ]; then
  set -- datasets corpus tokenizer tokenize train report verify
fi
for s in "$@"; do step "$s"; done

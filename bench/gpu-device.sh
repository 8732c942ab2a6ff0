#!/usr/bin/env bash
# bench/gpu-device.sh: the one short GPU device check (≤ 8 minutes), through Node and the `webgpu`
# package (Dawn). Prints the GPU's name, then one JSON line per benchmark:
#   1. forward, GPT-2-small shape (random weights), 512 tokens: Sparsebook WebGPU vs
#      onnxruntime-web's webgpu EP, `ratios.webgpu_over_ort_webgpu` (goal ≥ 2);
#   2. forward, stories260K, 512 tokens: the same pair on the bundled real model;
#   3. attention probes ÷ plain forward on WebGPU (bench/attention-probes.ts; goal ≤ 1.5);
#   4. matmul GFLOP/s per kernel variant and the autotuned choice, as a fraction of the GPU's fp32
#      peak (assumed: H100 SXM 67 TFLOP/s without tensor cores, `PEAK_TFLOPS` to change; printed);
#   5. attention: the row and the flash kernel per window length (bench/gpu-attention.ts), the
#      data behind the flash kernel's threshold.
#
# Where it runs from:
#   - a checkout with node_modules (this machine): `node --import ./cli/register.mjs bench/X.ts`;
#   - a device machine (no Node, no npm, 64 MiB per call): the pack from
#     `node scripts/device-pack.mjs` — `.device/node.tar.xz` and `.device/bench.tar.xz`, unpacked
#     into $SB_DEVICE_DIR (default /tmp/sparsebook-device, kept while the machine stays warm).
#     See bench/README.md for the device tool's calls.
#
#   bench/gpu-device.sh            # on a GPU
#   bench/gpu-device.sh --quick    # smoke check on SwiftShader here: tiny sizes, same code paths
set -uo pipefail
cd "$(dirname "$0")/.."

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "usage: bench/gpu-device.sh [--quick]" >&2; exit 2 ;;
  esac
done
PEAK_TFLOPS=${PEAK_TFLOPS:-67}
DIR=${SB_DEVICE_DIR:-/tmp/sparsebook-device}

unpack() { # archive → $DIR, with tar's xz or, lacking xz, Python's lzma
  mkdir -p "$DIR"
  if command -v xz >/dev/null; then tar -C "$DIR" -xJf "$1"; else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$DIR"
  fi
}
[[ -f .device/node.tar.xz && ! -x $DIR/node/bin/node ]] && unpack .device/node.tar.xz
[[ -f .device/bench.tar.xz ]] && unpack .device/bench.tar.xz

# How a benchmark starts: PREFIX + BASE/NAME + EXT + its arguments.
if [[ -d node_modules/tsx && -d node_modules/webgpu ]]; then
  NODE=${NODE:-node}
  PREFIX=("$NODE" --import ./cli/register.mjs) BASE=bench EXT=.ts
elif [[ -f $DIR/bench/dist/forward.mjs ]]; then
  NODE=${NODE:-$DIR/node/bin/node}
  [[ -x $NODE ]] || NODE=node
  export SPARSEBOOK_SHARED=$DIR/bench/shared
  PREFIX=("$NODE") BASE=$DIR/bench/dist EXT=.mjs
elif [[ -x $DIR/node/bin/node ]]; then
  echo "Node is unpacked in $DIR; now call again carrying .device/bench.tar.xz" >&2
  exit 0
else
  echo "no node_modules here and no pack in .device/ or $DIR: run node scripts/device-pack.mjs first" >&2
  exit 1
fi
command -v "$NODE" >/dev/null || { echo "no Node binary ($NODE)" >&2; exit 1; }

# The smoke check runs on Chromium's SwiftShader; a GPU machine uses its own Vulkan driver, with
# the pack's Vulkan loader where the system has none, and the NVIDIA ICD where it is mounted.
if [[ $QUICK == 1 ]]; then
  export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-/usr/lib/chromium}
else
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && [[ -f $DIR/bench/lib/libvulkan.so.1 ]]; then
    echo "# no system Vulkan loader: using the pack's" >&2
    export LD_LIBRARY_PATH=$DIR/bench/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [[ -z ${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-} && -f $nvidia_icd ]]; then export VK_DRIVER_FILES=$nvidia_icd; fi
fi
export SPARSEBOOK_CACHE=${SPARSEBOOK_CACHE:-$DIR/cache} # autotune choices stay with this run

echo "# gpu-device $(date -u +%FT%TZ) quick=$QUICK node=$("$NODE" --version)"
if command -v nvidia-smi >/dev/null; then
  echo "# GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
else
  echo "# GPU: no nvidia-smi (the WebGPU adapter is named in each line below)"
fi

step() { # name, seconds, benchmark, args...: one JSON line, or a JSON line with the failure
  local name=$1 limit=$2 bench=$3; shift 3
  timeout "$limit" "${PREFIX[@]}" "$BASE/$bench$EXT" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err"
  local rc=$? line
  line=$(tail -n 1 "$DIR/$name.out")
  if [[ $line == \{* ]]; then echo "$line"; else
    printf '{"step":"%s","error":"exit %s","stderr_tail":%s}\n' "$name" "$rc" \
      "$(tail -c 600 "$DIR/$name.err" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(s)))')"
  fi
}

mkdir -p "$DIR"
if [[ $QUICK == 1 ]]; then
  step forward_stories 240 forward --backends webgpu --peer ort --ort-eps webgpu --tokens 64 --reps 1
  step attention_probes 120 attention-probes --backends webgpu --tokens 64 --reps 1
  step matmul 120 gpu-matmul --quick --peak-tflops "$PEAK_TFLOPS"
  step attention_kernels 60 gpu-attention --quick
else
  step forward_gpt2 170 forward --model gpt2-small --backends webgpu --peer ort --ort-eps webgpu --tokens 512 --reps 3
  step forward_stories 60 forward --backends webgpu --peer ort --ort-eps webgpu --tokens 512 --reps 5
  step attention_probes 80 attention-probes --backends webgpu --tokens 512 --reps 5
  step matmul 120 gpu-matmul --peak-tflops "$PEAK_TFLOPS"
  step attention_kernels 40 gpu-attention
fi

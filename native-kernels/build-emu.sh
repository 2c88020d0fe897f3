#!/usr/bin/env bash
# Builds the host-emulation library: every kernel in this folder compiled by g++ (C++20) for the
# CPU through emu/cuda_emu.h, with C entry points (emu/emu_entry.cpp) that the C# tests call.
#   native-kernels/build-emu.sh [OUTDIR]   (default native-kernels/build; prints the .so path)
# Does nothing when the library is newer than every source.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
so=$out/libfolio_kernels_emu.so
mkdir -p "$out"
newest=$(ls -t "$here"/*.cu "$here"/*.h "$here"/emu/*.h "$here"/emu/*.cpp "$0" | head -n 1)
if [ -f "$so" ] && [ "$so" -nt "$newest" ]; then
  echo "$so"
  exit 0
fi
command -v g++ >/dev/null || { echo "build-emu.sh: g++ is needed (apt-get install g++)" >&2; exit 1; }
# -fno-strict-aliasing: the kernels read bf16 rows through 16-byte vector structs, as CUDA code does.
# -ffp-contract=off: no fused multiply-adds the C# references would not make either.
g++ -std=c++20 -O2 -fPIC -shared -pthread -fno-strict-aliasing -ffp-contract=off -fvisibility=hidden \
    -DFOLIO_EMU -I"$here" -Wall -Wextra -Wno-unused-parameter \
    -o "$so.tmp" "$here/emu/emu_entry.cpp"
mv "$so.tmp" "$so"
echo "$so"

#!/bin/sh
# common/cvt benchmark (issue 2): one core, GB/s of input for every conversion (F16 both with
# F16C and with the portable loops) and for the statistics accumulator, beside the goals
# (≥ 2 GB/s for F32 ↔ BF16 and F32 ↔ F16, ≥ 1 GB/s for statistics of BF16). Compiles
# tests/bench/cvt_bench.c with the Makefile's flags against build/rel/libcommon.a.
# CVT_BENCH_MB sets the size of the F64 input (default 64 MB; the others are that many
# elements, so half or a quarter the bytes).
set -e
top=${RECYCLE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
d=${BENCH_DIR:-${TMPDIR:-/tmp}}/cvt
mkdir -p "$d"
lib=$top/build/rel/libcommon.a
[ -f "$lib" ] || { echo "cvt bench: $lib missing (run make first)"; exit 1; }
pkgs="libzstd json-c openblas"
cc -O2 -D_GNU_SOURCE -I"$top/common" $(pkg-config --cflags $pkgs) -o "$d/cvt_bench" \
	"$top/tests/bench/cvt_bench.c" "$lib" $(pkg-config --libs $pkgs) -lm -lpthread
echo "## common/cvt: conversion and statistics throughput"
echo
"$d/cvt_bench" "${CVT_BENCH_MB:-64}"

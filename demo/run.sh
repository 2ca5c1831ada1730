#!/usr/bin/env bash
# `make demo`: every stage on the zoo models, each stage timed; a summary table at the end.
# Usage: demo/run.sh BIN MODEL… (BIN: the virtualenv's bin directory); BENCH_VARIANTS and LARGE_CONVERT_ARGS come from make.
set -uo pipefail
bin=$1; shift
models=("$@")
arts=("${models[@]/#/artifacts/}")
stages=()
now() { echo "${EPOCHREALTIME/./}"; }  # microseconds
started=$(now)

stage() {  # stage NAME COMMAND…: run, time, stop the demo on failure
  local name=$1; shift
  local t0; t0=$(now)
  "$@" || { echo "demo: stage '$name' failed" >&2; exit 1; }
  stages+=("$name $(( $(now) - t0 ))")
}

each() {  # each CMD…: run CMD with every model's artifacts directory appended, one at a time
  local m
  for m in "${arts[@]}"; do "$@" "$m" || return 1; done
}

parity() {  # exit 8 (a variant failed its profile) is a result to report, not a reason to stop
  local m rc
  for m in "${arts[@]}"; do "$bin/npuport" validate "$m"; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 8 ] || return $rc; done
}

convert_all() {  # the first (small) model to the whole matrix, the others with LARGE_CONVERT_ARGS
  "$bin/npuport" convert "artifacts/zoo/${models[0]}" -o "artifacts/${models[0]}" || return 1
  local m
  for m in "${models[@]:1}"; do
    echo "\$ npuport convert artifacts/zoo/$m -o artifacts/$m ${LARGE_CONVERT_ARGS:-}"
    "$bin/npuport" convert "artifacts/zoo/$m" -o "artifacts/$m" ${LARGE_CONVERT_ARGS:-} || return 1
  done
}

tune_int8() {  # the real-weights model's int8: smoothed, the most sensitive nodes kept in fp32 until the gate passes
  local a=artifacts/minilm-go-emotions
  [ -d "$a" ] || return 0
  "$bin/npuport" tune "$a" --precision int8 --method dynamic || return 1
  "$bin/npuport" validate "$a" --variants onnx-int8-tuned
}

bench_all() {  # one bench run per model (the tuned int8 with the others), so the report compares one run's figures
  local m variants
  for m in "${arts[@]}"; do
    variants=$BENCH_VARIANTS
    [ -f "$m/onnx/int8-tuned.onnx" ] && variants+=,onnx-int8-tuned
    "$bin/npuport" bench "$m" --variants "$variants" --max-batches 6 || return 1
  done
}

package_all() {
  "$bin/npuport" package artifacts/structbert-tiny-zh -o dist/structbert-tiny-zh --triton || return 1
  local m
  for m in "${models[@]:1}"; do "$bin/npuport" package "artifacts/$m" -o "dist/$m" || return 1; done
}

verify_all() {
  local m
  for m in "${models[@]}"; do echo "\$ npuport verify dist/$m.tar.gz"; "$bin/npuport" verify "dist/$m.tar.gz" || return 1; done
}

stage zoo "$bin/npuport" zoo build all
stage convert convert_all
# Answers worth reading come from the real-weights model; the stand-ins' answers are shown, labelled, per variant.
stage predict "$bin/npuport" predict artifacts/minilm-go-emotions --text "I am so happy today!" --text "This is the worst service I have ever had." --top-k 3
stage predict-every-variant "$bin/python" demo/predict_every_variant.py "${arts[@]}"
stage validate parity
stage tune tune_int8
stage eval each "$bin/npuport" eval
stage bench bench_all
stage report "$bin/npuport" report "${arts[@]}"
stage package package_all
stage verify verify_all

total=$(( $(now) - started ))
echo
echo "demo stages (wall time; CPU flags: $(grep -o -E 'avx512[a-z0-9_]*|avx_vnni|amx[a-z0-9_]*|avx2' /proc/cpuinfo | sort -u | tr '\n' ' '))"
for entry in "${stages[@]}" "total $total"; do
  read -r name micros <<<"$entry"
  awk -v n="$name" -v u="$micros" -v t="$total" 'BEGIN { printf "  %-22s %7.1f s  %5.1f%%\n", n, u / 1e6, 100 * u / t }'
done

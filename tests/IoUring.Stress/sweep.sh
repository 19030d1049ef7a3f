#!/usr/bin/env bash
# Seed sweep of the fuzzers: every layer (ring, async, sockets) with every seed of a range, niced, a few runs at a time.
# Prints one line per run that failed, with the exact command that reproduces it, and a summary at the end.
#
#   bash tests/IoUring.Stress/sweep.sh [--seeds 1-100] [--layers ring,async,sockets] [--iterations 40000]
#                                      [--seconds 60] [--jobs 2] [--timeout 400] [--out DIR] [--no-build]
#
# The build output is copied to DIR/bin first, so rebuilding the work tree while a sweep runs does not change what
# it tests. Per run: DIR/<layer>-<seed>.log (the fuzzer's report) and a line in DIR/results.tsv
# (layer, seed, exit code, wall seconds, iterations, first failure). A run still going after --timeout seconds is
# killed and counted as a hang (the fuzzers' own watchdogs fire after 90 s without progress, so this is a backstop).
# While the file $QUIET (default /work/QUIET) exists nothing starts: the build and every run first wait for it to go
# (a run already going finishes; the lead measures benchmarks in those windows and a sweep must not disturb them).
# Exit code: 0 when every run passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."

seeds="1-100"; layers="ring,async,sockets"; iterations=40000; seconds=60; jobs=2; limit=400
out="TestResults/sweep-$(date +%Y%m%d-%H%M%S)"; build=1
quiet="${QUIET:-/work/QUIET}"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --layers) layers="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "sweep: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

first="${seeds%-*}"; last="${seeds#*-}"
case "$first$last" in *[!0-9]*|"") echo "sweep: --seeds needs a range like 1-100, got '$seeds'" >&2; exit 2 ;; esac

# Waits while the quiet-window file exists (checked before every command the sweep starts).
wait_quiet() {
  local said=0
  while [ -e "$quiet" ]; do
    [ "$said" -eq 1 ] || { echo "sweep: $quiet exists, pausing $(date -u +%H:%M:%S)" >&2; said=1; }
    sleep 15
  done
  [ "$said" -eq 0 ] || echo "sweep: $quiet gone, resuming $(date -u +%H:%M:%S)" >&2
}
export -f wait_quiet

mkdir -p "$out"
if [ "$build" -eq 1 ]; then
  wait_quiet
  nice -n 19 dotnet build tests/IoUring.Stress -c Release -warnaserror -v quiet -nologo >"$out/build.log" 2>&1 \
    || { cat "$out/build.log"; echo "sweep: build failed" >&2; exit 2; }
fi
src=tests/IoUring.Stress/bin/Release/net10.0
[ -f "$src/IoUring.Stress.dll" ] || { echo "sweep: $src/IoUring.Stress.dll is missing (build first)" >&2; exit 2; }
rm -rf "$out/bin"; cp -r "$src" "$out/bin"
: >"$out/results.tsv"

# One run: seed-major order, so a sweep cut short still covers every layer for the seeds it reached.
run_one() {
  local layer="$1" seed="$2"
  local log="$out/$layer-$seed.log" start end rc secs its first
  local repro="dotnet run -c Release --project tests/IoUring.Stress -- fuzz --layer $layer --seed $seed --iterations $iterations --seconds $seconds"
  wait_quiet
  start=$(date +%s.%N)
  timeout -k 10 "$limit" nice -n 19 dotnet "$out/bin/IoUring.Stress.dll" fuzz --layer "$layer" --seed "$seed" \
    --iterations "$iterations" --seconds "$seconds" >"$log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  its=$(grep -o '^fuzz: [A-Z]*  [0-9,]* iterations' "$log" | head -1 | grep -o '[0-9,]* iterations' | tr -d ', iterations')
  first=$(grep -m1 -E '^\s+\[seed [0-9]+ iteration|LEAK:|hang|HANG|Unhandled exception' "$log" | sed -E 's/^\s+//' | cut -c1-300)
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && first="killed after ${limit} s (hang?) ${first}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$layer" "$seed" "$rc" "$secs" "${its:-?}" "$first" >>"$out/results.tsv"
  if [ "$rc" -ne 0 ]; then
    printf 'FAIL %s seed %s (exit %s, %s s): %s\n    reproduce: %s\n' "$layer" "$seed" "$rc" "$secs" "${first:-see $log}" "$repro"
  fi
}
export -f run_one
export out iterations seconds limit quiet

started=$(date +%s)
for seed in $(seq "$first" "$last"); do
  for layer in ${layers//,/ }; do
    printf '%s %s\n' "$layer" "$seed"
  done
done | xargs -P "$jobs" -L 1 bash -c 'run_one "$0" "$1"'

wall=$(( $(date +%s) - started ))
total=$(wc -l <"$out/results.tsv"); failed=$(awk -F'\t' '$3 != 0' "$out/results.tsv" | wc -l)
echo "sweep: seeds $seeds, layers $layers, $iterations iterations / $seconds s each, $jobs at a time: $total runs, $((total - failed)) passed, $failed failed, wall ${wall} s ($out)"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The full comparison run behind docs/benchmarks.md: default settings (1 GiB file, 3 s per run, 3 rounds; the http
# scenario: wrk -t2 -c256 for 3 s after a 5 s warm-up, against samples/HttpPlaintext and samples/AspNetCorePlaintext
# on both transports) unless arguments say otherwise (they are passed to `compare`). Regenerates, in one go:
#   docs/benchmarks.json   the medians (the runner's --json)
#   docs/benchmarks.md     the table between the <!-- results:begin/end --> markers (the runner's --markdown)
#   docs/benchmarks.svg    the chart (the runner's `chart` command, drawn from the JSON)
# Run it on a quiet machine: other processes on the 2 cores show up as noise in every figure.
set -euo pipefail
cd "$(dirname "$0")/.."

# install-deps also installs wrk, without which the http rows are left out (with a note under the table).
bash native/install-deps.sh || echo "run-full: native dependencies could not be installed; the table will say which contenders are missing" >&2
dotnet build benchmarks/IoUring.Benchmarks -c Release -warnaserror -v quiet -nologo

results=$(mktemp)
trap 'rm -f "$results"' EXIT
# A failed row (the runner says which, and why) makes compare exit non-zero; the table, the JSON and the chart are
# still written, with the failure noted under the table, and this script then exits non-zero too.
compare_rc=0
dotnet run -c Release --no-build --project benchmarks/IoUring.Benchmarks -- compare "$@" \
  --json docs/benchmarks.json --markdown "$results" || compare_rc=$?
dotnet run -c Release --no-build --project benchmarks/IoUring.Benchmarks -- chart \
  --json docs/benchmarks.json --svg docs/benchmarks.svg

# Replace what lies between the markers in docs/benchmarks.md with the new table.
awk -v results="$results" '
  /<!-- results:begin -->/ { print; while ((getline line < results) > 0) print line; skipping = 1; next }
  /<!-- results:end -->/   { skipping = 0 }
  !skipping                { print }
' docs/benchmarks.md > docs/benchmarks.md.new
mv docs/benchmarks.md.new docs/benchmarks.md
echo "run-full: updated docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.svg" >&2
exit "$compare_rc"

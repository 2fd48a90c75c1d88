#!/usr/bin/env bash
# Runs Rampart's benchmarks and writes their results next to them:
#   bench/run.sh scan [N]   rampart scan on N TLS endpoints and N server roots (default 10000) -> bench/RESULTS-scan.md
#   bench/run.sh check      rampart check on a generated repository and history            -> bench/RESULTS-check.md
#   bench/run.sh            both
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
CGO_ENABLED=0 go build -trimpath -o bin/rampart ./cmd/rampart
header() {
  echo "# $1"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)."
  echo "Ratios are against a baseline measured in the same run on the same input (see bench/README.md)."
  echo
}
if [ "$what" = scan ] || [ "$what" = all ]; then
  n=${2:-10000}
  tls=$(go run ./bench/scan -rampart bin/rampart -n "$n" -kind tls -concurrency 16)
  srv=$(go run ./bench/scan -rampart bin/rampart -n "$n" -kind server -concurrency 8)
  { header "rampart scan"; echo '```json'; echo "$tls"; echo "$srv"; echo '```'; } > bench/RESULTS-scan.md
  cat bench/RESULTS-scan.md
fi
if [ "$what" = check ] || [ "$what" = all ]; then
  res=$(go run ./bench/check -rampart bin/rampart)
  { header "rampart check"; echo '```json'; echo "$res"; echo '```'; } > bench/RESULTS-check.md
  cat bench/RESULTS-check.md
fi

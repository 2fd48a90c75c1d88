#!/usr/bin/env bash
# Runs the scan benchmarks and writes bench/RESULTS-scan.md. Usage:
#   bench/run.sh [N]        (default N=10000 resources per estate)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
CGO_ENABLED=0 go build -trimpath -o bin/rampart ./cmd/rampart
out=bench/RESULTS-scan.md
tls=$(go run ./bench/scan -rampart bin/rampart -n "$n" -kind tls -concurrency 16 2>/dev/null)
srv=$(go run ./bench/scan -rampart bin/rampart -n "$n" -kind server -concurrency 8 2>/dev/null)
{
  echo "# rampart scan benchmarks"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)."
  echo "Ratios are against a baseline measured in the same run on the same input."
  echo
  echo '```json'
  echo "$tls"
  echo "$srv"
  echo '```'
} > "$out"
cat "$out"

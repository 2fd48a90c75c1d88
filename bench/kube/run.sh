#!/usr/bin/env bash
# Benchmarks the kubernetes-cluster collector on a real API server holding
# 10,000 pods and writes bench/kube/RESULTS.md. Builds kube-apiserver first
# if needed (scripts/kube-apiserver.sh; several minutes the first time).
#   bench/kube/run.sh [-pods N] [-runs R] [-concurrency C]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/kube-apiserver.sh >/dev/null
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$tmp/kubebench" ./bench/kube
"$tmp/kubebench" -out bench/kube/RESULTS.md "$@"

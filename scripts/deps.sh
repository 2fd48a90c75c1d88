#!/usr/bin/env bash
# Installs the Debian packages the tests need, once. Each package is here for
# a reason; add yours with a comment.
set -euo pipefail
pkgs=(
  git               # the git-repo integration clones and reads history
  ca-certificates
  openssh-server    # server integration: compared with sshd -T
  chromium          # web: the end-to-end test drives the dashboard in headless Chromium (chromedp)
  postgresql        # the store's conformance suite runs on a real PostgreSQL too
  etcd-server       # the Kubernetes API server's storage, for the kubernetes-cluster tests
  prometheus              # metrics: a real Prometheus scrapes /metrics; promtool checks and tests the shipped rules
  prometheus-alertmanager # notify: a real Alertmanager receives Rampart's alerts and resolves them
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Kubernetes API server the kubernetes-cluster tests run against is built
# from its Go module once and cached (no Debian package ships it).
"$(dirname "$0")/kube-apiserver.sh" >/dev/null

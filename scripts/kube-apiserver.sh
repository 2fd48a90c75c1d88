#!/usr/bin/env bash
# Builds (once) the kube-apiserver the kubernetes-cluster tests and benchmark
# run against, and installs etcd from Debian's etcd-server package.
#
# Why a build: no Debian package ships kube-apiserver, and we must not fetch
# release binaries. The k8s.io/kubernetes module zip lacks staging/, so we
# build in a writable copy whose ./staging replace directives point at the
# published staging modules of the matching v0.x.y version.
#
# Idempotent: a cached binary for the version is reused. Prints the paths of
# both binaries on its last two lines as KUBE_APISERVER=… and ETCD=….
#
# Environment:
#   KUBE_VERSION      k8s.io/kubernetes version (default v1.37.1)
#   RAMPART_KUBE_DIR  cache directory (default $XDG_CACHE_HOME/rampart-kube,
#                     else <repo>/.cache/kube)
#   SKIP_ETCD=1       do not install etcd
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.1}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${RAMPART_KUBE_DIR:-}" ]]; then
	cache="$RAMPART_KUBE_DIR"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
	cache="$XDG_CACHE_HOME/rampart-kube"
else
	cache="$repo/.cache/kube"
fi
out="$cache/$KUBE_VERSION"
bin="$out/kube-apiserver"

log() { printf '[kube-apiserver.sh] %s\n' "$*" >&2; }

install_etcd() {
	if [[ "${SKIP_ETCD:-}" == 1 ]] || command -v etcd >/dev/null 2>&1; then
		return
	fi
	if [[ "$(id -u)" != 0 ]]; then
		log "etcd is missing; as root run: apt-get update && apt-get install -y --no-install-recommends etcd-server"
		return
	fi
	log "installing etcd (Debian etcd-server)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
	# The package starts nothing we want: the tests run their own etcd.
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
}

build_apiserver() {
	# A cached binary counts only if it reports the version we want (an
	# unstamped build reports v0.0.0-master and fails version checks).
	if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -qx "Kubernetes $KUBE_VERSION"; then
		log "cached: $bin"
		return
	fi
	mkdir -p "$out"
	local src="$out/src"
	if [[ ! -f "$src/go.mod" ]]; then
		log "downloading k8s.io/kubernetes@$KUBE_VERSION"
		local tmpmod
		tmpmod="$(mktemp -d)"
		# go mod download -json prints the module's read-only Dir in the module cache.
		local dir
		dir="$(cd "$tmpmod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		rm -rf "$tmpmod"
		if [[ -z "$dir" || ! -d "$dir" ]]; then
			log "could not locate the downloaded module directory"
			exit 1
		fi
		rm -rf "$src.tmp"
		cp -R "$dir" "$src.tmp"
		chmod -R u+w "$src.tmp"
		rm -rf "$src.tmp/vendor" "$src.tmp/go.work" "$src.tmp/go.work.sum"
		(
			cd "$src.tmp"
			local n=0
			# Every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x@v0.y.z".
			while read -r mod; do
				go mod edit -replace "$mod=$mod@$STAGING_VERSION"
				n=$((n + 1))
			done < <(go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(k8s\.io\/[^"]*\)"$/\1/p' | sort -u |
				while read -r m; do
					if grep -Eq "^[[:space:]]*$m[[:space:]]+=>[[:space:]]+\./staging/" go.mod; then echo "$m"; fi
				done)
			log "pointed $n staging replace directives at $STAGING_VERSION"
			# The module may ask for a newer go than the local toolchain; we build with
			# the local one (GOTOOLCHAIN=local) and lower the go line if needed.
			local want have
			want="$(go mod edit -json | sed -n 's/^[[:space:]]*"Go": "\(.*\)",$/\1/p')"
			have="$(GOTOOLCHAIN=local go env GOVERSION)"
			have="${have#go}"
			if [[ -n "$want" ]] && [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | tail -1)" != "$have" ]]; then
				log "go.mod asks for go $want, local toolchain is $have: lowering the go line"
				go mod edit -go="$have"
			fi
			go mod edit -toolchain=none
		)
		mv "$src.tmp" "$src"
	fi
	log "building kube-apiserver $KUBE_VERSION (cold: several minutes on 2 cores)"
	local start=$SECONDS
	# The version stamp Kubernetes' own build (hack/lib/version.sh) sets;
	# without it /version answers v0.0.0-master.
	local major minor rest ldflags="-s -w"
	major="${KUBE_VERSION#v}"
	major="${major%%.*}"
	rest="${KUBE_VERSION#v"$major".}"
	minor="${rest%%.*}"
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	(
		cd "$src"
		GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
			go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" ./cmd/kube-apiserver
	)
	mv "$bin.tmp" "$bin"
	log "built $bin in $((SECONDS - start))s"
}

install_etcd
build_apiserver
echo "KUBE_APISERVER=$bin"
echo "ETCD=$(command -v etcd || true)"

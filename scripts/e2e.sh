#!/usr/bin/env bash
# End-to-end test with real kube-apiservers (`make e2e`).
#
# Runs test/e2e (a separate Go module): it builds kube-apiserver and etcd
# from the Go module proxy and the webhook from this repository into
# test/.bin (a no-op or a relink when the Go build cache is warm), starts
# cluster B, the webhook and cluster A on 127.0.0.1, and checks through A
# that B's service-account tokens and OIDC tokens are authenticated exactly,
# and that bad ones are refused. Needs no kubectl, no container, no network
# beyond loopback and the module proxy.
#
# Every process log goes to one directory, printed at the end and kept on
# failure (E2E_LOG_DIR overrides where). Extra arguments go to `go test`,
# e.g. scripts/e2e.sh -run 'TestEndToEnd/webhook-v1$'.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export E2E_LOG_DIR="${E2E_LOG_DIR:-$root/test/.e2e-logs/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$E2E_LOG_DIR"

began=$(date +%s)
status=0
(cd "$root/test" && go test ./e2e/ -count=1 -timeout 45m -v "$@") || status=$?
took=$(($(date +%s) - began))

if [ "$status" -ne 0 ]; then
	echo "e2e: FAILED (exit $status) after ${took}s; process logs in $E2E_LOG_DIR:" >&2
	ls -l "$E2E_LOG_DIR" >&2 || true
	exit "$status"
fi
# Passed: the etcd data directories are large and of no further use.
rm -rf "$E2E_LOG_DIR"/*-data
echo "e2e: passed in ${took}s; process logs in $E2E_LOG_DIR"

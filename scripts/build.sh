#!/usr/bin/env bash
# Builds the Lambda bootstrap for arm64 and amd64 exactly as SAM's makefile
# builder does (CGO off, -tags lambda.norpc, -trimpath, -ldflags='-s -w'),
# zips each as build/tokenreview-<arch>.zip (a Go zipper: no `zip` needed)
# and prints the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=./functions/tokenreview
mkdir -p build
printf "*\n" >build/.gitignore # build output is never committed
for arch in ${ARCHES:-arm64 amd64}; do
	out="build/${arch}/bootstrap"
	echo "+ CGO_ENABLED=0 GOOS=linux GOARCH=${arch} go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o ${out} ${pkg}" >&2
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$out" "$pkg"
	go run ./scripts/zipbootstrap -o "build/tokenreview-${arch}.zip" "$out"
done
for arch in ${ARCHES:-arm64 amd64}; do
	printf '%-8s bootstrap %10d bytes   zip %10d bytes\n' "$arch" \
		"$(stat -c %s "build/${arch}/bootstrap")" "$(stat -c %s "build/tokenreview-${arch}.zip")"
done

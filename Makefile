# Every target is a thin call of a Go command or a script in scripts/.
# `make test` is the one command that runs every test (README, .ci/run).

GO      ?= go
# GOARCH of the Lambda binary that SAM's makefile builder produces.
# template.yaml's Architecture parameter defaults to arm64 to match; for
# x86_64 run `LAMBDA_GOARCH=amd64 sam build` and deploy with
# `--parameter-overrides Architecture=x86_64` (SAM passes no architecture
# to make, so the two must be set together).
LAMBDA_GOARCH ?= arm64
FUNCTION_PKG := ./functions/tokenreview
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: build run test vet unit e2e bench fuzz lint clean build-TokenReviewFunction

## build: bootstrap zips for arm64 and amd64 under build/, with sizes
build:
	scripts/build.sh

## run: the local demo (an issuer, a token and the webhook on 127.0.0.1)
run:
	$(GO) run $(FUNCTION_PKG) serve

## test: vet, every unit test of the main module, then the end-to-end test
test: vet unit e2e

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

## e2e: real kube-apiservers and etcd built from source (about 5 min cold)
e2e:
	scripts/e2e.sh

## bench: the hot-path benchmarks of shared/
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

## fuzz: every fuzz target of shared/ for FUZZTIME each (default 30s)
fuzz:
	scripts/fuzz.sh

## lint: cfn-lint (runs the SAM transform too) and shellcheck, when installed;
## not part of `make test`, which needs nothing beyond Go and make
lint:
	scripts/lint.sh

clean:
	rm -rf build

# SAM (Metadata: BuildMethod: makefile, CodeUri: .) runs this in a copy of
# the repository and deploys $(ARTIFACTS_DIR)/bootstrap.
build-TokenReviewFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap $(FUNCTION_PKG)

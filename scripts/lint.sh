#!/usr/bin/env bash
# Lints what Go's tools do not: template.yaml with cfn-lint (which applies
# the SAM transform locally, so SAM-only syntax such as !Ref Fn.Alias is
# checked as deployed) and the shell scripts with shellcheck. A tool that is
# not installed is reported, not silently skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
if command -v cfn-lint >/dev/null 2>&1; then
	echo "+ cfn-lint template.yaml" >&2
	cfn-lint template.yaml
else
	echo "lint: cfn-lint not installed (pip install cfn-lint)" >&2
	missing=1
fi
if command -v shellcheck >/dev/null 2>&1; then
	echo "+ shellcheck scripts/*.sh .ci/run" >&2
	shellcheck scripts/*.sh .ci/run
else
	echo "lint: shellcheck not installed (apt-get install shellcheck)" >&2
	missing=1
fi
exit "$missing"

#!/usr/bin/env bash
# Renders kube-apiserver's --authentication-token-webhook-config-file from
# infra/kubeconfig/*.yaml.tmpl, for a deployed stack or offline.
#
#   scripts/kubeconfig.sh --stack tokenreview [--region eu-west-1] > webhook.kubeconfig
#   scripts/kubeconfig.sh --url https://x.lambda-url.eu-west-1.on.aws/tokenreview --front FunctionUrl
#
# Options:
#   --stack NAME        read the WebhookUrl and Front outputs of this stack
#                       (aws cloudformation describe-stacks)
#   --region REGION     region of the stack (default: the AWS CLI's)
#   --url URL           the webhook URL (offline; needs --front)
#   --front FRONT       FunctionUrl | HttpApi (bearer token) | RestApiMtls (client certificate)
#   --token-file PATH   file holding the bearer token, on the control-plane host
#                       (default /etc/kubernetes/tokenreview/bearer-token)
#   --client-cert PATH  client certificate for RestApiMtls (default /etc/kubernetes/tokenreview/client.crt)
#   --client-key PATH   its key (default /etc/kubernetes/tokenreview/client.key)
#   -o FILE             write FILE (mode 0600) instead of stdout
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
templates="${here}/../infra/kubeconfig"

stack="" region="" url="" front="" out=""
token_file="/etc/kubernetes/tokenreview/bearer-token"
client_cert="/etc/kubernetes/tokenreview/client.crt"
client_key="/etc/kubernetes/tokenreview/client.key"

die() {
	echo "kubeconfig.sh: $*" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	[[ $# -ge 2 ]] || die "$1 needs a value"
	case "$1" in
	--stack) stack="$2" ;;
	--region) region="$2" ;;
	--url) url="$2" ;;
	--front) front="$2" ;;
	--token-file) token_file="$2" ;;
	--client-cert) client_cert="$2" ;;
	--client-key) client_key="$2" ;;
	-o) out="$2" ;;
	*) die "unknown option $1 (see the header of $0)" ;;
	esac
	shift 2
done

output() { # output NAME: one output of the stack
	local args=(cloudformation describe-stacks --stack-name "$stack"
		--query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)
	if [[ -n "$region" ]]; then
		args+=(--region "$region")
	fi
	aws "${args[@]}"
}

if [[ -n "$stack" ]]; then
	[[ -z "$url" ]] || die "give --stack or --url, not both"
	url="$(output WebhookUrl)"
	front="$(output Front)"
fi
[[ -n "$url" ]] || die "give --stack NAME, or --url URL with --front"
[[ "$url" == https://* ]] || die "the webhook URL must be https, got: $url"

case "$front" in
FunctionUrl | HttpApi)
	tmpl="$(<"${templates}/webhook-bearer.yaml.tmpl")"
	tmpl="${tmpl//@TOKEN_FILE@/"$token_file"}"
	;;
RestApiMtls)
	tmpl="$(<"${templates}/webhook-mtls.yaml.tmpl")"
	tmpl="${tmpl//@CLIENT_CERT@/"$client_cert"}"
	tmpl="${tmpl//@CLIENT_KEY@/"$client_key"}"
	;;
*) die "--front must be FunctionUrl, HttpApi or RestApiMtls, got: '$front'" ;;
esac
tmpl="${tmpl//@SERVER@/"$url"}"

if [[ -n "$out" ]]; then
	(umask 077 && printf '%s\n' "$tmpl" >"$out")
	echo "kubeconfig.sh: wrote $out for the $front front ($url)" >&2
else
	printf '%s\n' "$tmpl"
fi

package config

import (
	"strings"
	"testing"
)

// TestExtensionRules has one case per rule on this project's extension
// fields, in a WebhookConfiguration.
func TestExtensionRules(t *testing.T) {
	const tok1, tok2, tok3 = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"valid minimal", webhookDoc("", issuerEntry("", "")), nil},
		{"algorithms: supported only, none and HS* refused with the reason, no duplicates",
			webhookDoc("", issuerEntry("", `, algorithms: [RS256, none, HS256, hs512, RSA1_5, ES256, RS256]`)), []string{
				`jwt[0].algorithms[1]: Invalid value: "none": never allowed: an unsigned token proves nothing`,
				`jwt[0].algorithms[2]: Invalid value: "HS256": never allowed: HMAC needs a shared secret, and with a public key taken as the secret anyone could sign tokens`,
				`jwt[0].algorithms[3]: Invalid value: "hs512": never allowed: HMAC needs a shared secret, and with a public key taken as the secret anyone could sign tokens`,
				`jwt[0].algorithms[4]: Unsupported value: "RSA1_5": supported values: "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"`,
				`jwt[0].algorithms[6]: Duplicate value: "RS256"`}},
		{"clockSkew not negative", webhookDoc("", issuerEntry("", `, clockSkew: -1s`)), []string{
			`jwt[0].clockSkew: Invalid value: "-1s": must not be negative`}},
		{"clockSkew at most 5m", webhookDoc("", issuerEntry("", `, clockSkew: 5m1s`)), []string{
			`jwt[0].clockSkew: Invalid value: "5m1s": must be at most 5m0s: more leeway keeps expired tokens valid longer than clock drift explains`}},
		{"clockSkew 0 and 5m are fine", webhookDoc("", issuerEntry("", `, clockSkew: 0s`), `- {issuer: {url: "https://b.example.com", audiences: [a]}, clockSkew: 5m, `+okMapping+`}`), nil},
		{"maxTokenLifetime and keys durations not negative", webhookDoc("", issuerEntry("", `, maxTokenLifetime: -1h, keys: {refreshInterval: -1m, minRefreshInterval: -1s, fetchTimeout: -2s}`)), []string{
			`jwt[0].maxTokenLifetime: Invalid value: "-1h0m0s": must not be negative`,
			`jwt[0].keys.refreshInterval: Invalid value: "-1m0s": must not be negative`,
			`jwt[0].keys.minRefreshInterval: Invalid value: "-1s": must not be negative`,
			`jwt[0].keys.fetchTimeout: Invalid value: "-2s": must not be negative`}},
		{"keys bounds", webhookDoc("", issuerEntry("", `, keys: {refreshInterval: 30s, minRefreshInterval: 500ms, fetchTimeout: 11s}`),
			`- {issuer: {url: "https://b.example.com", audiences: [a]}, keys: {refreshInterval: 1m, minRefreshInterval: 1s, fetchTimeout: 10s}, `+okMapping+`}`), []string{
			`jwt[0].keys.minRefreshInterval: Invalid value: "500ms": must be 0s (the default) or at least 1s: it bounds how often forged key IDs can make the webhook fetch the issuer's keys`,
			`jwt[0].keys.refreshInterval: Invalid value: "30s": must be 0s (the default) or at least 1m0s`,
			`jwt[0].keys.fetchTimeout: Invalid value: "11s": must be at most 10s: a review that refreshes keys waits for the fetch`}},
		{"jwksURL https with a host", webhookDoc("", issuerEntry(`, jwksURL: "http://issuer.example.com/keys"`, ""), `- {issuer: {url: "https://b.example.com", audiences: [a], jwksURL: "https:///keys"}, `+okMapping+`}`), []string{
			`jwt[0].issuer.jwksURL: Invalid value: "http://issuer.example.com/keys": URL scheme must be https`,
			`jwt[1].issuer.jwksURL: Invalid value: "https:///keys": URL must have a host`}},
		{"jwksURL, jwks and discoveryURL exclude each other", webhookDoc("",
			issuerEntry(`, jwksURL: "https://k.example.com/keys", discoveryURL: "https://d.example.com/x"`, ""),
			`- {issuer: {url: "https://b.example.com", audiences: [a], jwks: {keys: []}, discoveryURL: "https://d2.example.com/x"}, `+okMapping+`}`,
			`- {issuer: {url: "https://c.example.com", audiences: [a], jwks: {keys: []}, jwksURL: "https://k.example.com/keys"}, `+okMapping+`}`), []string{
			"jwt[0].issuer.jwksURL: Forbidden: may not be set together with discoveryURL: jwksURL skips discovery",
			"jwt[1].issuer.jwks: Forbidden: may not be set together with discoveryURL: a static JWKS uses no network",
			"jwt[2].issuer.jwks: Forbidden: may not be set together with jwksURL: use one source of keys"}},
		{"jwks shape", webhookDoc("",
			issuerEntry(`, jwks: [1]`, ""),
			`- {issuer: {url: "https://b.example.com", audiences: [a], jwks: {kty: RSA}}, `+okMapping+`}`,
			`- {issuer: {url: "https://c.example.com", audiences: [a], jwks: "{\"keys\": 5}"}, `+okMapping+`}`,
			`- {issuer: {url: "https://d.example.com", audiences: [a], jwks: {keys: [x]}}, `+okMapping+`}`,
			`- {issuer: {url: "https://e.example.com", audiences: [a], jwks: "{\"keys\": []}"}, `+okMapping+`}`), []string{
			`jwt[0].issuer.jwks: Invalid value: must be a JSON object with a "keys" list, or a string holding one`,
			`jwt[1].issuer.jwks: Invalid value: must have a "keys" list`,
			`jwt[2].issuer.jwks: Invalid value: must be a JSON object with a "keys" list, or a string holding one`,
			`jwt[3].issuer.jwks: Invalid value: "keys" must hold only JSON objects`}},
		{"preset: prefix required, namespaces required", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {namespaces: []}`)), []string{
			`jwt[0].kubernetesServiceAccount.prefix: Required value: a prefix for usernames and groups, such as "cluster-b:"; "" keeps kube's own names and needs allowReservedNames`,
			`jwt[0].kubernetesServiceAccount.namespaces: Required value: at least one namespace is required; "*" allows all`}},
		{"preset: empty prefix needs allowReservedNames", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {prefix: "", namespaces: ["*"]}`)), []string{
			`jwt[0].kubernetesServiceAccount.prefix: Invalid value: "": an empty prefix makes usernames and groups start with "system:"; set allowReservedNames: true to accept that`}},
		{"preset: empty prefix with allowReservedNames", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {prefix: "", namespaces: ["*"]}, allowReservedNames: true`)), nil},
		{"preset: namespace and name patterns", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {prefix: "b:", namespaces: ["", "*", "a*b", "team-*", "team-*"], serviceAccountNames: ["*", deployer]}`)), []string{
			"jwt[0].kubernetesServiceAccount.namespaces[0]: Required value",
			`jwt[0].kubernetesServiceAccount.namespaces[1]: Invalid value: "*": "*" allows everything and must be the only entry`,
			`jwt[0].kubernetesServiceAccount.namespaces[2]: Invalid value: "a*b": "*" is allowed only at the end, as a prefix wildcard`,
			`jwt[0].kubernetesServiceAccount.namespaces[4]: Duplicate value: "team-*"`,
			`jwt[0].kubernetesServiceAccount.serviceAccountNames[0]: Invalid value: "*": "*" allows everything and must be the only entry`}},
		{"preset: username, groups and uid must be empty, extra allowed", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {prefix: "b:", namespaces: [ci]}, claimMappings: {username: {claim: sub, prefix: ""}, groups: {prefix: "x"}, uid: {claim: sub}, extra: [{key: example.com/c, valueExpression: "1"}]}`)), []string{
			"jwt[0].claimMappings.username: Forbidden: " + presetMappingDetail,
			"jwt[0].claimMappings.groups: Forbidden: " + presetMappingDetail,
			"jwt[0].claimMappings.uid: Forbidden: " + presetMappingDetail}},
		{"preset: claimMappings may be left out", webhookDoc("", issuerEntry("", `, kubernetesServiceAccount: {prefix: "b:", namespaces: [ci, "team-*"], serviceAccountNames: ["deploy*"]}`)), nil},
		{"no preset: username required", webhookDoc("", issuerEntry("", `, claimMappings: {}`)), []string{
			"jwt[0].claimMappings.username: Required value: claim or expression is required"}},
		{"bearerTokens: at most 2", webhookDoc("webhook: {authentication: {bearerTokens: ["+tok1+", "+tok2+", "+tok3+"]}}", issuerEntry("", "")), []string{
			"webhook.authentication.bearerTokens: Too many: 3: must have at most 2 items"}},
		{"bearerTokens: 32 characters, no duplicates, never shown", webhookDoc("webhook: {authentication: {bearerTokens: [short-secret, "+tok1+", "+tok1+"]}}", issuerEntry("", "")), []string{
			"webhook.authentication.bearerTokens: Too many: 3: must have at most 2 items",
			"webhook.authentication.bearerTokens[0]: Invalid value: must be at least 32 characters",
			"webhook.authentication.bearerTokens[2]: Duplicate value: same token as webhook.authentication.bearerTokens[1]"}},
		{"clientCertificateSubjects non-empty and unique", webhookDoc(`webhook: {authentication: {clientCertificateSubjects: ["", "CN=a", "CN=a"]}}`, issuerEntry("", "")), []string{
			"webhook.authentication.clientCertificateSubjects[0]: Required value",
			`webhook.authentication.clientCertificateSubjects[2]: Duplicate value: "CN=a"`}},
		{"maxTokenBytes too small", webhookDoc("webhook: {maxTokenBytes: 1023}", issuerEntry("", "")), []string{
			"webhook.maxTokenBytes: Invalid value: 1023: must be 0 (the default, 16384) or between 1024 and 1048576"}},
		{"maxTokenBytes too large", webhookDoc("webhook: {maxTokenBytes: 1048577}", issuerEntry("", "")), []string{
			"webhook.maxTokenBytes: Invalid value: 1048577: must be 0 (the default, 16384) or between 1024 and 1048576"}},
		{"maxTokenBytes bounds are inclusive", webhookDoc("webhook: {maxTokenBytes: 1024}", issuerEntry("", `, claimValidationRules: []`)), nil},
		{"keyPrefetchTimeout not negative", webhookDoc("webhook: {keyPrefetchTimeout: -5s}", issuerEntry("", "")), []string{
			`webhook.keyPrefetchTimeout: Invalid value: "-5s": must not be negative`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, tc.doc, tc.want)
			if got := strings.Join(loadLines(t, tc.doc), "\n"); strings.Contains(got, tok1) || strings.Contains(got, "short-secret") {
				t.Errorf("an error shows a bearer token: %s", got)
			}
		})
	}
}

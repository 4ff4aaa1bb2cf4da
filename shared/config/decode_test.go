package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrictDecoding: unknown fields, wrong types, bad durations and
// duplicate fields fail with their paths; input that is not a YAML or JSON
// object fails plainly.
func TestStrictDecoding(t *testing.T) {
	const entry = `- {issuer: {url: "https://issuer.example.com", audiences: [a]}, claimMappings: {username: {claim: sub, prefix: ""}}}`
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"JSON input", `{"apiVersion":"apiserver.config.k8s.io/v1","kind":"AuthenticationConfiguration","jwt":[{"issuer":{"url":"https://i.example.com","audiences":["a"]},"claimMappings":{"username":{"claim":"sub","prefix":""}}}]}`, nil},
		{"unknown top-level and nested fields", kubeHead + "foo: 1\njwt:\n" + `- {issuer: {url: "https://i.example.com", audiences: [a], bar: x}, claimMappings: {username: {claim: sub, prefix: "", baz: 1}}}`, []string{
			"foo: Forbidden: unknown field",
			"jwt[0].claimMappings.username.baz: Forbidden: unknown field",
			"jwt[0].issuer.bar: Forbidden: unknown field"}},
		{"field names are case-sensitive", kubeHead + "jwt:\n" + `- {issuer: {URL: "https://i.example.com", audiences: [a]}, claimMappings: {username: {claim: sub, prefix: ""}}}`, []string{
			"jwt[0].issuer.URL: Forbidden: unknown field",
			"jwt[0].issuer.url: Required value"}},
		{"wrong types, each reported, no Required echo", kubeHead + "jwt:\n" + `- {issuer: {url: [x], audiences: a}, claimMappings: {username: {claim: 5, prefix: true}}, claimValidationRules: {a: b}}`, []string{
			"jwt[0].claimMappings.username.claim: Invalid value: must be a string, not a number",
			"jwt[0].claimMappings.username.prefix: Invalid value: must be a string, not a boolean",
			"jwt[0].claimValidationRules: Invalid value: must be a list, not an object",
			"jwt[0].issuer.audiences: Invalid value: must be a list, not a string",
			"jwt[0].issuer.url: Invalid value: must be a string, not a list"}},
		{"wrong type in a list element", kubeHead + "jwt:\n" + `- {issuer: {url: "https://i.example.com", audiences: [a, [b]], audienceMatchPolicy: MatchAny}, claimMappings: {username: {claim: sub, prefix: ""}}}`, []string{
			"jwt[0].issuer.audiences[1]: Invalid value: must be a string, not a list"}},
		{"jwt must be a list", kubeHead + "jwt: {a: 1}\n", []string{
			"jwt: Invalid value: must be a list, not an object"}},
		{"integral floats are integers (as in kube)", webhookDoc("webhook: {maxTokenBytes: 1.5e3}", entry), nil},
		{"integers", webhookDoc("webhook: {maxTokenBytes: 1.5}", entry), []string{
			`webhook.maxTokenBytes: Invalid value: "1.5": must be a whole number between -2147483648 and 2147483647`}},
		{"integer out of range", webhookDoc("webhook: {maxTokenBytes: 99999999999}", entry), []string{
			`webhook.maxTokenBytes: Invalid value: "99999999999": must be a whole number between -2147483648 and 2147483647`}},
		{"booleans", webhookDoc("webhook: {reportDenialReasons: \"no\"}", entry), []string{
			"webhook.reportDenialReasons: Invalid value: must be a boolean, not a string"}},
		{"durations", webhookDoc("webhook: {keyPrefetchTimeout: 5}", entry+"\n"+`- {issuer: {url: "https://b.example.com", audiences: [a]}, clockSkew: 30 seconds, `+okMapping+`}`), []string{
			`jwt[1].clockSkew: Invalid value: "30 seconds": must be a duration such as "30s" or "5m"`,
			"webhook.keyPrefetchTimeout: Invalid value: must be a duration string such as \"30s\", not a number"}},
		{"duplicate YAML fields", kubeHead + "kind: AuthenticationConfiguration\njwt:\n- issuer: {url: \"https://i.example.com\", audiences: [a], audiences: [b]}\n  claimMappings: {username: {claim: sub, prefix: \"\"}}\n", []string{
			"kind: Duplicate value: field appears more than once (lines 2 and 3)",
			"jwt[0].issuer.audiences: Duplicate value: field appears more than once (lines 5 and 5)"}},
		{"duplicate JSON fields", `{"apiVersion":"apiserver.config.k8s.io/v1","kind":"AuthenticationConfiguration","jwt":[{"issuer":{"url":"https://i.example.com","url":"https://j.example.com","audiences":["a"]},"claimMappings":{"username":{"claim":"sub","prefix":""}}}]}`, []string{
			"jwt[0].issuer.url: Duplicate value: field appears more than once (lines 1 and 1)"}},
		{"null leaves a field unset", kubeHead + "anonymous: null\njwt:\n" + entry, nil},
		{"null jwks is unset", webhookDoc("webhook: null", `- {issuer: {url: "https://i.example.com", audiences: [a], jwks: null, discoveryURL: "https://d.example.com/x"}, `+okMapping+`}`), nil},
		{"empty", " \n", []string{"plain: empty configuration"}},
		{"not an object", "- a\n- b\n", []string{"plain: configuration must be a YAML or JSON object with apiVersion, kind and jwt"}},
		{"not YAML", "a: [b\n", []string{"plain: parse configuration: yaml: line 1: did not find expected ',' or ']'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, tc.doc, tc.want)
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(kubeHead+"jwt: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(bad)
	want := "configuration " + bad + ":\njwt: Required value: at least one issuer is required: a webhook without one authenticates nobody"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFile(bad) = %v, want %q", err, want)
	}
	_, err = LoadFile(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "read configuration: open ") || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("LoadFile(missing) = %v", err)
	}
	_, err = Load(make([]byte, maxConfigBytes+1))
	if err == nil || err.Error() != "configuration is 4194305 bytes, more than the 4194304 allowed" {
		t.Errorf("Load(huge) = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		type unwrapper interface{ Unwrap() error }
		u, ok := err.(unwrapper)
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

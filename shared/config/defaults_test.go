package config

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func TestGetterDefaults(t *testing.T) {
	var j JWTAuthenticator
	if got := j.AllowedAlgorithms(); !reflect.DeepEqual(got, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}) {
		t.Errorf("AllowedAlgorithms() = %v", got)
	}
	j.AllowedAlgorithms()[0] = "changed"
	if j.AllowedAlgorithms()[0] != "RS256" {
		t.Error("AllowedAlgorithms returns the shared default list, not a copy")
	}
	if j.Leeway() != 30*time.Second || j.Lifetime() != 0 {
		t.Errorf("Leeway() = %v, Lifetime() = %v", j.Leeway(), j.Lifetime())
	}
	if j.Keys.Refresh() != time.Hour || j.Keys.MinRefresh() != 30*time.Second || j.Keys.Timeout() != 3*time.Second {
		t.Errorf("key policy defaults: %v %v %v", j.Keys.Refresh(), j.Keys.MinRefresh(), j.Keys.Timeout())
	}
	var w Webhook
	if !w.DenialReasons() || w.TokenLimit() != 16384 || w.PrefetchTimeout() != 5*time.Second {
		t.Errorf("webhook defaults: %v %v %v", w.DenialReasons(), w.TokenLimit(), w.PrefetchTimeout())
	}
}

func TestGetterExplicitValues(t *testing.T) {
	yes := true
	j := JWTAuthenticator{Algorithms: []string{"ES256"}, ClockSkew: dur(0), MaxTokenLifetime: dur(time.Hour),
		Keys: KeyPolicy{RefreshInterval: dur(10 * time.Minute), MinRefreshInterval: dur(0), FetchTimeout: dur(time.Second)}}
	if !reflect.DeepEqual(j.AllowedAlgorithms(), []string{"ES256"}) || j.Leeway() != 0 || j.Lifetime() != time.Hour {
		t.Errorf("explicit: %v %v %v", j.AllowedAlgorithms(), j.Leeway(), j.Lifetime())
	}
	// A zero interval or timeout means the default, not "always" or "never".
	if j.Keys.Refresh() != 10*time.Minute || j.Keys.MinRefresh() != 30*time.Second || j.Keys.Timeout() != time.Second {
		t.Errorf("key policy: %v %v %v", j.Keys.Refresh(), j.Keys.MinRefresh(), j.Keys.Timeout())
	}
	w := Webhook{ReportDenialReasons: &yes, MaxTokenBytes: 4096, KeyPrefetchTimeout: dur(2 * time.Second)}
	if !w.DenialReasons() || w.TokenLimit() != 4096 || w.PrefetchTimeout() != 2*time.Second {
		t.Errorf("webhook: %v %v %v", w.DenialReasons(), w.TokenLimit(), w.PrefetchTimeout())
	}
}

func TestDiscoveryDocumentURL(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		issuer Issuer
		want   string
	}{
		{Issuer{URL: "https://issuer.example.com"}, "https://issuer.example.com/.well-known/openid-configuration"},
		{Issuer{URL: "https://issuer.example.com/"}, "https://issuer.example.com/.well-known/openid-configuration"},
		{Issuer{URL: "https://example.com/realms/a"}, "https://example.com/realms/a/.well-known/openid-configuration"},
		{Issuer{URL: "https://example.com/realms/a/"}, "https://example.com/realms/a/.well-known/openid-configuration"},
		{Issuer{URL: "https://issuer.example.com", DiscoveryURL: str("")}, "https://issuer.example.com/.well-known/openid-configuration"},
		{Issuer{URL: "https://issuer.example.com", DiscoveryURL: str("https://internal.example.net/oidc/")}, "https://internal.example.net/oidc/"},
	}
	for _, tc := range cases {
		if got := tc.issuer.DiscoveryDocumentURL(); got != tc.want {
			t.Errorf("%+v: DiscoveryDocumentURL() = %q, want %q", tc.issuer, got, tc.want)
		}
	}
}

func TestStaticJWKS(t *testing.T) {
	const set = `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`
	quoted, _ := json.Marshal(set)
	cases := []struct {
		name, raw, want, err string
	}{
		{"unset", "", "", ""},
		{"object", set, set, ""},
		{"object with spaces", "  " + set + "\n", set, ""},
		{"string holding an object", string(quoted), set, ""},
		{"empty key list", `{"keys":[]}`, `{"keys":[]}`, ""},
		{"list", `[1]`, "", `must be a JSON object with a "keys" list, or a string holding one`},
		{"string holding a list", `"[]"`, "", `must be a JSON object with a "keys" list, or a string holding one`},
		{"no keys", `{"kty":"RSA"}`, "", `must have a "keys" list`},
		{"null keys", `{"keys":null}`, "", `must have a "keys" list`},
		{"keys not a list", `{"keys":{}}`, "", `must be a JSON object with a "keys" list, or a string holding one`},
		{"key not an object", `{"keys":["x"]}`, "", `"keys" must hold only JSON objects`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i := Issuer{JWKS: json.RawMessage(tc.raw)}
			got, err := i.StaticJWKS()
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if string(got) != tc.want || gotErr != tc.err {
				t.Errorf("StaticJWKS() = %q, %q; want %q, %q", got, gotErr, tc.want, tc.err)
			}
		})
	}
}

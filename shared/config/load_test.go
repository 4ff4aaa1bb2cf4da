package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestKubeFilesLoadUnchanged: kube-apiserver's own files (v1 and v1beta1)
// load, and the Config encodes back to exactly the same document.
func TestKubeFilesLoadUnchanged(t *testing.T) {
	for _, name := range []string{"testdata/kube-v1.yaml", "testdata/kube-v1beta1.yaml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(data)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(cfg.JWT) != 2 || cfg.Kind != KubeKind {
				t.Fatalf("got %d issuers of kind %q, want 2 of %q", len(cfg.JWT), cfg.Kind, KubeKind)
			}
			j := cfg.JWT[0]
			if j.Issuer.URL != "https://login.example.com/realms/platform" || j.Issuer.AudienceMatchPolicy != AudienceMatchPolicyMatchAny ||
				!strings.HasPrefix(j.Issuer.CertificateAuthority, "-----BEGIN CERTIFICATE-----\n") ||
				j.ClaimMappings.Username.Expression != `"oidc:" + claims.email` || *j.ClaimMappings.Groups.Prefix != "oidc:" ||
				j.ClaimMappings.UID.Claim != "sub" || j.ClaimMappings.Extra[0].Key != "example.com/tenant" {
				t.Errorf("first issuer decoded wrongly: %+v", j)
			}
			if d := cfg.JWT[1].Issuer.DiscoveryURL; d == nil || *d != "https://discovery.example.net/github/.well-known/openid-configuration" {
				t.Errorf("discoveryURL = %v", d)
			}
			want, err := yaml.YAMLToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("re-encoded config differs from the file:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestWebhookFile loads the WebhookConfiguration example and reads its
// values through the getters.
func TestWebhookFile(t *testing.T) {
	cfg, err := LoadFile("testdata/webhook.yaml")
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	w := &cfg.Webhook
	if w.DenialReasons() || w.TokenLimit() != 8192 || w.PrefetchTimeout().String() != "4s" ||
		len(w.Authentication.BearerTokens) != 1 || w.Authentication.ClientCertificateSubjects[0] != "CN=kube-apiserver,O=cluster-a" {
		t.Errorf("webhook settings: %+v", w)
	}
	sa := cfg.JWT[0]
	if sa.KubernetesServiceAccount == nil || *sa.KubernetesServiceAccount.Prefix != "cluster-b:" ||
		!reflect.DeepEqual(sa.KubernetesServiceAccount.Namespaces, []string{"ci", "team-*"}) ||
		!reflect.DeepEqual(sa.AllowedAlgorithms(), []string{"RS256"}) || sa.Leeway().String() != "1m0s" || sa.Lifetime().String() != "24h0m0s" {
		t.Errorf("service-account issuer: %+v", sa)
	}
	jwks, err := sa.Issuer.StaticJWKS()
	if err != nil {
		t.Fatalf("StaticJWKS: %v", err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != "cluster-b-2026" || len(set.Keys[0]["n"]) != 342 {
		t.Errorf("static JWKS %s: %v", jwks, err)
	}
	ci := cfg.JWT[1]
	if ci.Issuer.JWKSURL != "https://ci.example.com/keys.json" || ci.Keys.Refresh().String() != "30m0s" ||
		ci.Keys.MinRefresh().String() != "1m0s" || ci.Keys.Timeout().String() != "2s" || ci.Leeway().String() != "30s" || ci.Lifetime() != 0 {
		t.Errorf("ci issuer: %+v", ci)
	}
}

// TestMultiErrorFile: one file with many problems lists every one of them,
// one per line, each with its path; a value of the wrong type does not
// also produce a "Required" error.
func TestMultiErrorFile(t *testing.T) {
	_, err := LoadFile("testdata/multi-error.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	want := []string{
		"configuration testdata/multi-error.yaml:",
		"jwt[2].claimMappings.username: Duplicate value: field appears more than once (lines 41 and 42)",
		"jwt[1].issuer.audience: Forbidden: unknown field",
		`jwt[1].maxTokenLifetime: Invalid value: "forever": must be a duration such as "30s" or "5m"`,
		"jwt[2].issuer.audiences: Invalid value: must be a list, not a number",
		"anonymous: Forbidden: " + anonymousDetail,
		"webhook.authentication.bearerTokens[0]: Invalid value: must be at least 32 characters",
		"webhook.maxTokenBytes: Invalid value: 10: must be 0 (the default, 16384) or between 1024 and 1048576",
		`jwt[0].issuer.url: Invalid value: "http://issuer.example.com": URL scheme must be https`,
		`jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be MatchAny for multiple audiences`,
		"jwt[0].issuer.egressSelectorType: Forbidden: " + egressDetail,
		"jwt[0].claimMappings.username.prefix: Required value: prefix is required when claim is set. It can be set to an empty string to disable prefixing",
		"jwt[0].issuer.jwks: Forbidden: may not be set together with jwksURL: use one source of keys",
		`jwt[0].algorithms[0]: Invalid value: "HS256": never allowed: HMAC needs a shared secret, and with a public key taken as the secret anyone could sign tokens`,
		`jwt[0].clockSkew: Invalid value: "10m0s": must be at most 5m0s: more leeway keeps expired tokens valid longer than clock drift explains`,
		"jwt[1].claimMappings.username: Forbidden: " + presetMappingDetail,
		`jwt[1].claimMappings.extra[0].key: Invalid value: "kubernetes.io/x": k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use`,
		`jwt[1].kubernetesServiceAccount.prefix: Invalid value: "": an empty prefix makes usernames and groups start with "system:"; set allowReservedNames: true to accept that`,
		`jwt[1].kubernetesServiceAccount.namespaces: Required value: at least one namespace is required; "*" allows all`,
		`jwt[2].issuer.url: Duplicate value: "https://two.example.com"`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(ve.Errors) != len(want)-1 {
		t.Errorf("ValidationError holds %d errors, want %d", len(ve.Errors), len(want)-1)
	}
}

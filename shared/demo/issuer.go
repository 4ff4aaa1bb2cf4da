package demo

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"sigs.k8s.io/yaml"
)

// Paths of the issuer's documents, under IssuerPath.
const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/jwks"
)

// Demo user: the subject and groups of Token's default claims, and what the
// demo configuration maps them to.
const (
	UserPrefix = "demo:"
	ExtraKey   = "tokenreview.dev/demo-email"
)

// Handler serves the issuer's discovery document and JWKS at
// IssuerPath + "/.well-known/openid-configuration" and IssuerPath +
// "/jwks"; mount it at IssuerPath + "/" on the server's mux. Anything else
// is 404.
func (d *Demo) Handler() http.Handler {
	discovery := mustJSON(map[string]any{
		"issuer":                                d.IssuerURL,
		"jwks_uri":                              d.IssuerURL + jwksPath,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
	})
	jwks := d.JWKS()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		switch r.URL.Path {
		case IssuerPath + discoveryPath:
			body = discovery
		case IssuerPath + jwksPath:
			body = jwks
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// JWKS returns the issuer's public key set: one P-256 key with kid, alg
// ES256 and use sig.
func (d *Demo) JWKS() []byte {
	raw, err := d.key.PublicKey.Bytes() // 0x04 || X || Y, 32 bytes each
	if err != nil {
		panic(fmt.Sprintf("demo: encode public key: %v", err))
	}
	return mustJSON(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:65]),
		"kid": d.kid, "alg": "ES256", "use": "sig",
	}}})
}

// Token returns a token from the demo issuer for subject, member of groups,
// valid from now for ttl: iss, aud (Audience), sub, groups, email
// (<subject>@example.com), iat, nbf, exp and a random jti.
func (d *Demo) Token(subject string, groups []string, ttl time.Duration) (string, error) {
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := jwt.MapClaims{
		"iss":    d.IssuerURL,
		"aud":    d.Audience,
		"sub":    subject,
		"groups": groups,
		"email":  subject + "@example.com",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(ttl).Unix(),
		"jti":    b64(jti),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = d.kid
	s, err := t.SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("demo: sign token: %w", err)
	}
	return s, nil
}

// Config returns the demo WebhookConfiguration (YAML): the demo issuer,
// trusted through CertPEM, audience Audience, ES256 only; username from sub
// and groups from groups, both under UserPrefix; uid from sub; extra
// ExtraKey from the email claim (a CEL expression); the endpoint protected
// by BearerToken.
func (d *Demo) Config() []byte {
	cfg := map[string]any{
		"apiVersion": "tokenreview.dev/v1alpha1",
		"kind":       "WebhookConfiguration",
		"jwt": []any{map[string]any{
			"issuer": map[string]any{
				"url":                  d.IssuerURL,
				"certificateAuthority": string(d.CertPEM),
				"audiences":            []string{d.Audience},
			},
			"algorithms": []string{"ES256"},
			"claimMappings": map[string]any{
				"username": map[string]any{"claim": "sub", "prefix": UserPrefix},
				"groups":   map[string]any{"claim": "groups", "prefix": UserPrefix},
				"uid":      map[string]any{"claim": "sub"},
				"extra": []any{map[string]any{
					"key": ExtraKey, "valueExpression": "claims.email",
				}},
			},
		}},
		"webhook": map[string]any{
			"authentication": map[string]any{"bearerTokens": []string{d.BearerToken}},
		},
	}
	return mustYAML(cfg)
}

// Kubeconfig returns a webhook kubeconfig for kube-apiserver's
// --authentication-token-webhook-config-file: the server is WebhookURL,
// trusted through CertPEM, and the user presents BearerToken.
func (d *Demo) Kubeconfig() []byte {
	return mustYAML(map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{
			"name": "tokenreview-demo",
			"cluster": map[string]any{
				"server":                     d.WebhookURL(),
				"certificate-authority-data": d.CertPEM, // []byte marshals as base64, as the field wants
			},
		}},
		"users": []any{map[string]any{
			"name": "kube-apiserver",
			"user": map[string]any{"token": d.BearerToken},
		}},
		"contexts": []any{map[string]any{
			"name":    "webhook",
			"context": map[string]any{"cluster": "tokenreview-demo", "user": "kube-apiserver"},
		}},
		"current-context": "webhook",
	})
}

// Curl returns a curl command that posts a v1 TokenReview of token to the
// webhook, trusting the CA in caFile and presenting BearerToken.
func (d *Demo) Curl(token, caFile string) string {
	body := fmt.Sprintf(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"}}`, token)
	return fmt.Sprintf("curl -sS --cacert %s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s' %s",
		caFile, d.BearerToken, body, d.WebhookURL())
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: encode JSON: %v", err))
	}
	return b
}

func mustYAML(v any) []byte {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: encode YAML: %v", err))
	}
	return b
}

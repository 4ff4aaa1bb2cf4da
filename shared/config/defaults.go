package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults returned by the getters when a field is unset.
const (
	// DefaultClockSkew is the leeway on exp, nbf and iat. kube-apiserver's
	// OIDC authenticator uses none on exp and 1m on nbf; its
	// service-account authenticator uses 1m on all three. 30s covers real
	// clock drift between an issuer and Lambda while keeping an expired
	// token useful for as short a time as possible.
	DefaultClockSkew = 30 * time.Second
	// DefaultRefreshInterval is the age after which keys are refreshed.
	DefaultRefreshInterval = time.Hour
	// DefaultMinRefreshInterval spaces out refreshes triggered by an
	// unknown kid.
	DefaultMinRefreshInterval = 30 * time.Second
	// DefaultFetchTimeout bounds one discovery or JWKS request.
	DefaultFetchTimeout = 3 * time.Second
	// DefaultMaxTokenBytes caps a token's size.
	DefaultMaxTokenBytes = 16384
	// DefaultKeyPrefetchTimeout bounds fetching every issuer's keys at
	// start; Lambda's INIT phase is capped at 10s.
	DefaultKeyPrefetchTimeout = 5 * time.Second
)

// AllowedAlgorithms returns the configured signing algorithms, or every
// supported one (RS*, PS*, ES*, EdDSA) when none is configured. The result
// is a copy.
func (j *JWTAuthenticator) AllowedAlgorithms() []string {
	if len(j.Algorithms) > 0 {
		return slices.Clone(j.Algorithms)
	}
	return slices.Clone(supportedAlgorithms)
}

// Leeway returns the clock-skew leeway for exp, nbf and iat (default 30s;
// an explicit 0s means none).
func (j *JWTAuthenticator) Leeway() time.Duration {
	if j.ClockSkew == nil {
		return DefaultClockSkew
	}
	return j.ClockSkew.Duration
}

// Lifetime returns the longest accepted exp - iat; 0 means unlimited.
func (j *JWTAuthenticator) Lifetime() time.Duration {
	if j.MaxTokenLifetime == nil {
		return 0
	}
	return j.MaxTokenLifetime.Duration
}

// Refresh returns the age after which keys are refreshed (default 1h).
func (k *KeyPolicy) Refresh() time.Duration {
	return orDefault(k.RefreshInterval, DefaultRefreshInterval)
}

// MinRefresh returns the least time between two unknown-kid refreshes
// (default 30s).
func (k *KeyPolicy) MinRefresh() time.Duration {
	return orDefault(k.MinRefreshInterval, DefaultMinRefreshInterval)
}

// Timeout returns the bound on one discovery or JWKS request (default 3s).
func (k *KeyPolicy) Timeout() time.Duration {
	return orDefault(k.FetchTimeout, DefaultFetchTimeout)
}

// DenialReasons reports whether denials carry their reason in
// status.error (default true).
func (w *Webhook) DenialReasons() bool {
	return w.ReportDenialReasons == nil || *w.ReportDenialReasons
}

// TokenLimit returns the largest accepted token in bytes (default 16384).
func (w *Webhook) TokenLimit() int {
	if w.MaxTokenBytes == 0 {
		return DefaultMaxTokenBytes
	}
	return w.MaxTokenBytes
}

// PrefetchTimeout returns the bound on fetching every issuer's keys at
// start (default 5s).
func (w *Webhook) PrefetchTimeout() time.Duration {
	return orDefault(w.KeyPrefetchTimeout, DefaultKeyPrefetchTimeout)
}

// orDefault treats unset and 0 alike: a zero interval or timeout would
// mean "always refresh" or "never wait", never what is meant.
func orDefault(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration == 0 {
		return def
	}
	return d.Duration
}

// DiscoveryDocumentURL returns where the OpenID discovery document is read:
// discoveryURL verbatim when set, otherwise the issuer URL without a
// trailing slash plus "/.well-known/openid-configuration", as go-oidc (and
// so kube-apiserver) builds it.
func (i *Issuer) DiscoveryDocumentURL() string {
	if i.DiscoveryURL != nil && *i.DiscoveryURL != "" {
		return *i.DiscoveryURL
	}
	return strings.TrimSuffix(i.URL, "/") + "/.well-known/openid-configuration"
}

// StaticJWKS returns the inline JWKS as the bytes of a JSON object, with the
// string form unquoted; nil when no jwks is configured. It checks only the
// shape (an object with a "keys" list); package keys parses the keys.
func (i *Issuer) StaticJWKS() ([]byte, error) {
	if len(i.JWKS) == 0 {
		return nil, nil
	}
	return parseJWKS(i.JWKS)
}

// parseJWKS accepts a JSON object with a "keys" array, or a JSON string
// holding one, and returns the object's bytes.
func parseJWKS(raw json.RawMessage) ([]byte, error) {
	obj := bytes.TrimSpace(raw)
	if len(obj) > 0 && obj[0] == '"' {
		var s string
		if err := json.Unmarshal(obj, &s); err != nil {
			return nil, errors.New(`must be a JSON object with a "keys" list, or a string holding one`)
		}
		obj = bytes.TrimSpace([]byte(s))
	}
	var shape struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if len(obj) == 0 || obj[0] != '{' || json.Unmarshal(obj, &shape) != nil {
		return nil, errors.New(`must be a JSON object with a "keys" list, or a string holding one`)
	}
	if shape.Keys == nil {
		return nil, errors.New(`must have a "keys" list`)
	}
	for _, k := range *shape.Keys {
		if t := bytes.TrimSpace(k); len(t) == 0 || t[0] != '{' {
			return nil, errors.New(`"keys" must hold only JSON objects`)
		}
	}
	return obj, nil
}

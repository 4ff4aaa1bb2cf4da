package config

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits on the extension fields.
const (
	// MaxClockSkew bounds clockSkew: more leeway keeps expired tokens
	// valid for longer than any clock drift explains.
	MaxClockSkew = 5 * time.Minute
	// MaxBearerTokens allows one current and one next token for rotation.
	MaxBearerTokens = 2
	// MinBearerTokenLength is 32 characters, about 190 bits when random.
	MinBearerTokenLength = 32
	// MinTokenBytes and MaxTokenBytesLimit bound webhook.maxTokenBytes.
	MinTokenBytes      = 1024
	MaxTokenBytesLimit = 1 << 20
)

// supportedAlgorithms are the asymmetric JWS algorithms a JWKS can verify.
var supportedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// refuseExtensions reports every extension field set in a kube file.
func (j *JWTAuthenticator) refuseExtensions(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := map[string]bool{
		"algorithms":               len(j.Algorithms) > 0,
		"clockSkew":                j.ClockSkew != nil,
		"maxTokenLifetime":         j.MaxTokenLifetime != nil,
		"kubernetesServiceAccount": j.KubernetesServiceAccount != nil,
		"allowReservedNames":       j.AllowReservedNames,
		"keys":                     !reflect.ValueOf(j.Keys).IsZero(),
	}
	for _, name := range []string{"algorithms", "clockSkew", "maxTokenLifetime", "kubernetesServiceAccount", "allowReservedNames", "keys"} {
		if set[name] {
			errs = append(errs, field.Forbidden(p.Child(name), extensionOnlyDetail))
		}
	}
	if j.Issuer.JWKSURL != "" {
		errs = append(errs, field.Forbidden(p.Child("issuer", "jwksURL"), extensionOnlyDetail))
	}
	if len(j.Issuer.JWKS) > 0 {
		errs = append(errs, field.Forbidden(p.Child("issuer", "jwks"), extensionOnlyDetail))
	}
	return errs
}

// validateExtensions checks the extension fields of one issuer entry.
func (j *JWTAuthenticator) validateExtensions(p *field.Path) field.ErrorList {
	errs := j.Issuer.validateKeySource(p.Child("issuer"))
	errs = append(errs, validateAlgorithms(j.Algorithms, p.Child("algorithms"))...)
	errs = append(errs, nonNegative(j.ClockSkew, p.Child("clockSkew"))...)
	if j.ClockSkew != nil && j.ClockSkew.Duration > MaxClockSkew {
		errs = append(errs, field.Invalid(p.Child("clockSkew"), j.ClockSkew.Duration.String(),
			"must be at most 5m0s: more leeway keeps expired tokens valid longer than clock drift explains"))
	}
	errs = append(errs, nonNegative(j.MaxTokenLifetime, p.Child("maxTokenLifetime"))...)
	kp := p.Child("keys")
	errs = append(errs, nonNegative(j.Keys.RefreshInterval, kp.Child("refreshInterval"))...)
	errs = append(errs, nonNegative(j.Keys.MinRefreshInterval, kp.Child("minRefreshInterval"))...)
	errs = append(errs, nonNegative(j.Keys.FetchTimeout, kp.Child("fetchTimeout"))...)
	errs = append(errs, j.Keys.validateBounds(kp)...)
	if sa := j.KubernetesServiceAccount; sa != nil {
		errs = append(errs, sa.validate(p.Child("kubernetesServiceAccount"), j.AllowReservedNames)...)
	}
	return errs
}

// Bounds of the key refresh policy (0 means the default).
const (
	MinMinRefreshInterval = time.Second
	MinRefreshInterval    = time.Minute
	MaxFetchTimeout       = 10 * time.Second
)

// validateBounds keeps the refresh policy where it protects the issuer and
// the reviews: a tiny minRefreshInterval would let forged kids make the
// function fetch at request rate; a long fetchTimeout would hold reviews.
func (k *KeyPolicy) validateBounds(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if d := k.MinRefreshInterval; d != nil && d.Duration > 0 && d.Duration < MinMinRefreshInterval {
		errs = append(errs, field.Invalid(p.Child("minRefreshInterval"), d.Duration.String(),
			"must be 0s (the default) or at least 1s: it bounds how often forged key IDs can make the webhook fetch the issuer's keys"))
	}
	if d := k.RefreshInterval; d != nil && d.Duration > 0 && d.Duration < MinRefreshInterval {
		errs = append(errs, field.Invalid(p.Child("refreshInterval"), d.Duration.String(), "must be 0s (the default) or at least 1m0s"))
	}
	if d := k.FetchTimeout; d != nil && d.Duration > MaxFetchTimeout {
		errs = append(errs, field.Invalid(p.Child("fetchTimeout"), d.Duration.String(),
			"must be at most 10s: a review that refreshes keys waits for the fetch"))
	}
	return errs
}

func validateAlgorithms(algs []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, a := range algs {
		ap := p.Index(i)
		switch {
		case strings.EqualFold(a, "none"):
			errs = append(errs, field.Invalid(ap, a, "never allowed: an unsigned token proves nothing"))
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			errs = append(errs, field.Invalid(ap, a, "never allowed: HMAC needs a shared secret, and with a public key taken as the secret anyone could sign tokens"))
		case !slices.Contains(supportedAlgorithms, a):
			errs = append(errs, field.NotSupported(ap, a, supportedAlgorithms))
		case seen.Has(a):
			errs = append(errs, field.Duplicate(ap, a))
		}
		seen.Insert(a)
	}
	return errs
}

func nonNegative(d *metav1.Duration, p *field.Path) field.ErrorList {
	if d != nil && d.Duration < 0 {
		return field.ErrorList{field.Invalid(p, d.Duration.String(), "must not be negative")}
	}
	return nil
}

// validateKeySource checks jwksURL and jwks: each excludes the other and
// discoveryURL.
func (i *Issuer) validateKeySource(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	hasDiscovery := i.DiscoveryURL != nil && *i.DiscoveryURL != ""
	if i.JWKSURL != "" {
		jp := p.Child("jwksURL")
		errs = append(errs, validateURL(i.JWKSURL, jp)...)
		if u, err := url.Parse(i.JWKSURL); err == nil && u.Host == "" {
			errs = append(errs, field.Invalid(jp, i.JWKSURL, "URL must have a host"))
		}
		if hasDiscovery {
			errs = append(errs, field.Forbidden(jp, "may not be set together with discoveryURL: jwksURL skips discovery"))
		}
	}
	if len(i.JWKS) > 0 {
		jp := p.Child("jwks")
		if _, err := parseJWKS(i.JWKS); err != nil {
			errs = append(errs, field.Invalid(jp, field.OmitValueType{}, err.Error()))
		}
		if i.JWKSURL != "" {
			errs = append(errs, field.Forbidden(jp, "may not be set together with jwksURL: use one source of keys"))
		}
		if hasDiscovery {
			errs = append(errs, field.Forbidden(jp, "may not be set together with discoveryURL: a static JWKS uses no network"))
		}
	}
	return errs
}

// validate checks the service-account preset.
func (s *ServiceAccountPreset) validate(p *field.Path, allowReserved bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case s.Prefix == nil:
		errs = append(errs, field.Required(p.Child("prefix"), `a prefix for usernames and groups, such as "cluster-b:"; "" keeps kube's own names and needs allowReservedNames`))
	case *s.Prefix == "" && !allowReserved:
		errs = append(errs, field.Invalid(p.Child("prefix"), "",
			`an empty prefix makes usernames and groups start with "system:"; set allowReservedNames: true to accept that`))
	}
	if len(s.Namespaces) == 0 {
		errs = append(errs, field.Required(p.Child("namespaces"), `at least one namespace is required; "*" allows all`))
	}
	errs = append(errs, validatePatterns(s.Namespaces, p.Child("namespaces"))...)
	return append(errs, validatePatterns(s.ServiceAccountNames, p.Child("serviceAccountNames"))...)
}

// validatePatterns checks a namespace or name allow-list: entries are
// non-empty and unique, "*" stands alone in the list, and any other "*" is
// a trailing wildcard.
func validatePatterns(list []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, s := range list {
		ep := p.Index(i)
		switch {
		case s == "":
			errs = append(errs, field.Required(ep, ""))
		case s == "*" && len(list) > 1:
			errs = append(errs, field.Invalid(ep, s, `"*" allows everything and must be the only entry`))
		case strings.Contains(strings.TrimSuffix(s, "*"), "*"):
			errs = append(errs, field.Invalid(ep, s, `"*" is allowed only at the end, as a prefix wildcard`))
		case seen.Has(s):
			errs = append(errs, field.Duplicate(ep, s))
		}
		seen.Insert(s)
	}
	return errs
}

// validate checks the webhook's own settings. Bearer tokens are secrets:
// no message shows one.
func (w *Webhook) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ap := p.Child("authentication")
	bp := ap.Child("bearerTokens")
	tokens := w.Authentication.BearerTokens
	if len(tokens) > MaxBearerTokens {
		errs = append(errs, field.TooMany(bp, len(tokens), MaxBearerTokens))
	}
	first := map[string]int{}
	for i, t := range tokens {
		if len(t) < MinBearerTokenLength {
			errs = append(errs, field.Invalid(bp.Index(i), field.OmitValueType{}, fmt.Sprintf("must be at least %d characters", MinBearerTokenLength)))
		}
		if j, dup := first[t]; dup {
			errs = append(errs, &field.Error{Type: field.ErrorTypeDuplicate, Field: bp.Index(i).String(), BadValue: field.OmitValueType{},
				Detail: "same token as " + bp.Index(j).String()})
			continue
		}
		first[t] = i
	}
	sp := ap.Child("clientCertificateSubjects")
	seen := sets.New[string]()
	for i, s := range w.Authentication.ClientCertificateSubjects {
		switch {
		case s == "":
			errs = append(errs, field.Required(sp.Index(i), ""))
		case seen.Has(s):
			errs = append(errs, field.Duplicate(sp.Index(i), s))
		}
		seen.Insert(s)
	}
	if n := w.MaxTokenBytes; n != 0 && (n < MinTokenBytes || n > MaxTokenBytesLimit) {
		errs = append(errs, field.Invalid(p.Child("maxTokenBytes"), n,
			fmt.Sprintf("must be 0 (the default, %d) or between %d and %d", DefaultMaxTokenBytes, MinTokenBytes, MaxTokenBytesLimit)))
	}
	return append(errs, nonNegative(w.KeyPrefetchTimeout, p.Child("keyPrefetchTimeout"))...)
}

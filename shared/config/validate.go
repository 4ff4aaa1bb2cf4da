package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/cert"
)

// MaxJWTAuthenticators is kube-apiserver's limit on jwt entries.
const MaxJWTAuthenticators = 64

// Messages shared with tests and documentation.
const (
	anonymousDetail = "anonymous is not supported by a webhook: kube-apiserver decides anonymous access itself"
	egressDetail    = "egressSelectorType is not supported by a webhook: it fetches keys from its own network, not through kube-apiserver's egress selector"
)

// Validate checks the structural rules: kube-apiserver's own for an
// AuthenticationConfiguration (pkg/apis/apiserver/validation, without the
// CEL compilation and the email_verified rule, which package claims does
// with the same field paths) and this project's for the extensions. It
// returns every problem found.
func (c *Config) Validate() field.ErrorList {
	errs := c.validateKind()
	kube := c.Kind == KubeKind

	if c.Anonymous != nil {
		errs = append(errs, field.Forbidden(field.NewPath("anonymous"), anonymousDetail))
	}
	switch {
	case kube && !reflect.ValueOf(c.Webhook).IsZero():
		errs = append(errs, field.Forbidden(field.NewPath("webhook"), extensionOnlyDetail))
	case !kube:
		errs = append(errs, c.Webhook.validate(field.NewPath("webhook"))...)
	}

	root := field.NewPath("jwt")
	switch n := len(c.JWT); {
	case n == 0:
		return append(errs, field.Required(root, "at least one issuer is required: a webhook without one authenticates nobody"))
	case n > MaxJWTAuthenticators:
		return append(errs, field.TooMany(root, n, MaxJWTAuthenticators))
	}

	seenIssuers := sets.New[string]()
	seenDiscoveryURLs := sets.New[string]()
	for i := range c.JWT {
		j := &c.JWT[i]
		p := root.Index(i)
		errs = append(errs, j.validate(p, kube)...)
		if seenIssuers.Has(j.Issuer.URL) {
			errs = append(errs, field.Duplicate(p.Child("issuer", "url"), j.Issuer.URL))
		}
		seenIssuers.Insert(j.Issuer.URL)
		if d := j.Issuer.DiscoveryURL; d != nil && *d != "" {
			if seenDiscoveryURLs.Has(*d) {
				errs = append(errs, field.Duplicate(p.Child("issuer", "discoveryURL"), *d))
			}
			seenDiscoveryURLs.Insert(*d)
		}
	}
	return errs
}

// validateKind checks that apiVersion and kind name one of the two kinds.
func (c *Config) validateKind() field.ErrorList {
	var errs field.ErrorList
	versions := []string{KubeAPIVersionV1, KubeAPIVersionV1beta1, WebhookAPIVersion}
	kinds := []string{KubeKind, WebhookKind}
	want := map[string]string{KubeAPIVersionV1: KubeKind, KubeAPIVersionV1beta1: KubeKind, WebhookAPIVersion: WebhookKind}

	av, k := field.NewPath("apiVersion"), field.NewPath("kind")
	switch {
	case c.APIVersion == "":
		errs = append(errs, field.Required(av, "one of "+strings.Join(versions, ", ")))
	case want[c.APIVersion] == "":
		errs = append(errs, field.NotSupported(av, c.APIVersion, versions))
	}
	switch {
	case c.Kind == "":
		errs = append(errs, field.Required(k, "one of "+strings.Join(kinds, ", ")))
	case c.Kind != KubeKind && c.Kind != WebhookKind:
		errs = append(errs, field.NotSupported(k, c.Kind, kinds))
	case want[c.APIVersion] != "" && want[c.APIVersion] != c.Kind:
		errs = append(errs, field.Invalid(k, c.Kind, fmt.Sprintf("apiVersion %s takes kind %s", c.APIVersion, want[c.APIVersion])))
	}
	return errs
}

// validate checks one issuer entry; kube says the file is kube's kind, where
// the extension fields are refused.
func (j *JWTAuthenticator) validate(p *field.Path, kube bool) field.ErrorList {
	errs := j.Issuer.validate(p.Child("issuer"))
	errs = append(errs, validateClaimValidationRules(j.ClaimValidationRules, p.Child("claimValidationRules"))...)
	errs = append(errs, j.validateClaimMappings(p.Child("claimMappings"), !kube && j.KubernetesServiceAccount != nil)...)
	errs = append(errs, validateUserValidationRules(j.UserValidationRules, p.Child("userValidationRules"))...)
	if kube {
		return append(errs, j.refuseExtensions(p)...)
	}
	return append(errs, j.validateExtensions(p)...)
}

// validate checks the kube fields of an issuer.
func (i *Issuer) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if i.URL == "" {
		errs = append(errs, field.Required(p.Child("url"), ""))
	} else {
		errs = append(errs, validateURL(i.URL, p.Child("url"))...)
	}
	if d := i.DiscoveryURL; d != nil && *d != "" {
		dp := p.Child("discoveryURL")
		if i.URL != "" && strings.TrimRight(i.URL, "/") == strings.TrimRight(*d, "/") {
			errs = append(errs, field.Invalid(dp, *d, "discoveryURL must be different from URL"))
		}
		errs = append(errs, validateURL(*d, dp)...)
	}
	errs = append(errs, validateAudiences(i.Audiences, i.AudienceMatchPolicy, p.Child("audiences"), p.Child("audienceMatchPolicy"))...)
	if i.CertificateAuthority != "" {
		if _, err := cert.NewPoolFromBytes([]byte(i.CertificateAuthority)); err != nil {
			errs = append(errs, field.Invalid(p.Child("certificateAuthority"), "<omitted>", err.Error()))
		}
	}
	if i.EgressSelectorType != "" {
		errs = append(errs, field.Forbidden(p.Child("egressSelectorType"), egressDetail))
	}
	return errs
}

// validateURL is kube-apiserver's check for url and discoveryURL.
func validateURL(raw string, p *field.Path) field.ErrorList {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		shown := raw
		if strings.Contains(raw, "@") {
			shown = "<omitted: may hold a password>"
		}
		return field.ErrorList{field.Invalid(p, shown, err.Error())}
	}
	shown := u.Redacted() // never echo a password into errors and logs
	var errs field.ErrorList
	if u.Scheme != "https" {
		errs = append(errs, field.Invalid(p, shown, "URL scheme must be https"))
	}
	if u.User != nil {
		errs = append(errs, field.Invalid(p, shown, "URL must not contain a username or password"))
	}
	if len(u.RawQuery) > 0 {
		errs = append(errs, field.Invalid(p, shown, "URL must not contain a query"))
	}
	if len(u.Fragment) > 0 {
		errs = append(errs, field.Invalid(p, shown, "URL must not contain a fragment"))
	}
	return errs
}

// validateAudiences is kube-apiserver's audience check.
func validateAudiences(auds []string, policy AudienceMatchPolicyType, p, policyPath *field.Path) field.ErrorList {
	if len(auds) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("at least one %s is required", p))}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, a := range auds {
		if a == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
		}
		if seen.Has(a) {
			errs = append(errs, field.Duplicate(p.Index(i), a))
		}
		seen.Insert(a)
	}
	if len(auds) > 1 && policy != AudienceMatchPolicyMatchAny {
		errs = append(errs, field.Invalid(policyPath, policy, "audienceMatchPolicy must be MatchAny for multiple audiences"))
	}
	if len(auds) == 1 && policy != "" && policy != AudienceMatchPolicyMatchAny {
		errs = append(errs, field.Invalid(policyPath, policy, "audienceMatchPolicy must be empty or MatchAny for single audience"))
	}
	return errs
}

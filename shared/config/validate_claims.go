package config

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// presetMappingDetail refuses a username, groups or uid mapping next to the
// service-account preset, which builds those itself.
const presetMappingDetail = "may not be set when kubernetesServiceAccount is set: the preset maps username, groups and uid itself (extra is allowed)"

// validateClaimValidationRules is kube-apiserver's rule check without the
// CEL compilation.
func validateClaimValidationRules(rules []ClaimValidationRule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seenClaims, seenExpressions := sets.New[string](), sets.New[string]()
	for i, r := range rules {
		rp := p.Index(i)
		switch {
		case r.Claim != "" && r.Expression != "":
			errs = append(errs, field.Invalid(rp, r.Claim, "claim and expression can't both be set"))
		case r.Claim == "" && r.Expression == "":
			errs = append(errs, field.Required(rp, "claim or expression is required"))
		case r.Claim != "":
			if r.Message != "" {
				errs = append(errs, field.Invalid(rp.Child("message"), r.Message, "may not be specified when claim is set"))
			}
			if seenClaims.Has(r.Claim) {
				errs = append(errs, field.Duplicate(rp.Child("claim"), r.Claim))
			}
			seenClaims.Insert(r.Claim)
		default:
			if r.RequiredValue != "" {
				errs = append(errs, field.Invalid(rp.Child("requiredValue"), r.RequiredValue, "may not be specified when expression is set"))
			}
			if seenExpressions.Has(r.Expression) {
				errs = append(errs, field.Duplicate(rp.Child("expression"), r.Expression))
			}
			seenExpressions.Insert(r.Expression)
		}
	}
	return errs
}

// validateClaimMappings is kube-apiserver's mapping check without the CEL
// compilation; with the service-account preset (WebhookConfiguration only),
// username, groups and uid must be left empty instead.
func (j *JWTAuthenticator) validateClaimMappings(p *field.Path, preset bool) field.ErrorList {
	var errs field.ErrorList
	m := &j.ClaimMappings
	if preset {
		if !reflect.ValueOf(m.Username).IsZero() {
			errs = append(errs, field.Forbidden(p.Child("username"), presetMappingDetail))
		}
		if !reflect.ValueOf(m.Groups).IsZero() {
			errs = append(errs, field.Forbidden(p.Child("groups"), presetMappingDetail))
		}
		if m.UID != (ClaimOrExpression{}) {
			errs = append(errs, field.Forbidden(p.Child("uid"), presetMappingDetail))
		}
	} else {
		errs = append(errs, validatePrefixed(m.Username, p.Child("username"), true)...)
		errs = append(errs, validatePrefixed(m.Groups, p.Child("groups"), false)...)
		if m.UID.Claim != "" && m.UID.Expression != "" {
			errs = append(errs, field.Invalid(p.Child("uid"), "", "claim and expression can't both be set"))
		}
	}
	return append(errs, validateExtra(m.Extra, p.Child("extra"))...)
}

// validatePrefixed is kube-apiserver's check of username and groups.
func validatePrefixed(m PrefixedClaimOrExpression, p *field.Path, required bool) field.ErrorList {
	switch {
	case m.Expression != "" && m.Claim != "":
		return field.ErrorList{field.Invalid(p, "", "claim and expression can't both be set")}
	case m.Expression == "" && m.Claim == "" && required:
		return field.ErrorList{field.Required(p, "claim or expression is required")}
	case m.Expression != "" && m.Prefix != nil:
		return field.ErrorList{field.Invalid(p.Child("prefix"), *m.Prefix, "may not be specified when expression is set")}
	case m.Claim != "" && m.Prefix == nil:
		return field.ErrorList{field.Required(p.Child("prefix"), "prefix is required when claim is set. It can be set to an empty string to disable prefixing")}
	}
	return nil
}

// validateExtra is kube-apiserver's check of extra mappings.
func validateExtra(extra []ExtraMapping, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, e := range extra {
		ep := p.Index(i)
		kp := ep.Child("key")
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(kp, e.Key)...)
		if e.Key != strings.ToLower(e.Key) {
			errs = append(errs, field.Invalid(kp, e.Key, "must be lowercase"))
		}
		if isKubernetesDomainPrefix(e.Key) {
			errs = append(errs, field.Invalid(kp, e.Key, "k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use"))
		}
		if seen.Has(e.Key) {
			errs = append(errs, field.Duplicate(kp, e.Key))
			continue
		}
		seen.Insert(e.Key)
		if e.ValueExpression == "" {
			errs = append(errs, field.Required(ep.Child("valueExpression"), ""))
		}
	}
	return errs
}

// isKubernetesDomainPrefix reports whether key's domain is k8s.io,
// kubernetes.io or a subdomain of either.
func isKubernetesDomainPrefix(key string) bool {
	domain, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, d := range []string{"kubernetes.io", "k8s.io"} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// validateUserValidationRules is kube-apiserver's check without the CEL
// compilation.
func validateUserValidationRules(rules []UserValidationRule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, r := range rules {
		ep := p.Index(i).Child("expression")
		switch {
		case r.Expression == "":
			errs = append(errs, field.Required(ep, ""))
		case seen.Has(r.Expression):
			errs = append(errs, field.Duplicate(ep, r.Expression))
		}
		seen.Insert(r.Expression)
	}
	return errs
}

package verify

import (
	"math"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
)

// checkTime applies the time rules to the decoded claims: exp is required
// and must be a JSON number; nbf and iat, when present, must be numbers.
// Comparisons are in float64 seconds, so fractional and absurdly large
// values are compared exactly as written, without overflow.
func (is *issuer) checkTime(claims map[string]any, now time.Time) *decision.Error {
	nowSec := float64(now.UnixNano()) / 1e9
	exp, present, ok := number(claims, "exp")
	switch {
	case !present:
		return errNoExp
	case !ok:
		return decision.Deny(decision.Malformed, "exp is not a JSON number")
	case nowSec >= exp+is.leeway:
		return decision.Deny(decision.Expired, "token expired at %s (leeway %s)", unixString(exp), is.leewayText)
	}
	nbf, present, ok := number(claims, "nbf")
	switch {
	case present && !ok:
		return decision.Deny(decision.Malformed, "nbf is not a JSON number")
	case present && nowSec+is.leeway < nbf:
		return decision.Deny(decision.NotYetValid, "token is not valid before %s (leeway %s)", unixString(nbf), is.leewayText)
	}
	iat, iatPresent, ok := number(claims, "iat")
	switch {
	case iatPresent && !ok:
		return decision.Deny(decision.Malformed, "iat is not a JSON number")
	case iatPresent && nowSec+is.leeway < iat:
		return decision.Deny(decision.IssuedInFuture, "token is issued in the future, at %s (leeway %s)", unixString(iat), is.leewayText)
	}
	if is.lifetime > 0 {
		if !iatPresent {
			return decision.Deny(decision.LifetimeTooLong, "token has no iat, required by maxTokenLifetime %s", is.lifetimeText)
		}
		if exp-iat > is.lifetime {
			return decision.Deny(decision.LifetimeTooLong, "token lifetime %gs exceeds maxTokenLifetime %s", exp-iat, is.lifetimeText)
		}
	}
	return nil
}

var errNoExp = decision.Deny(decision.Malformed, "token has no exp")

// number returns claims[name] as a float64: present says the member
// exists, ok that it is a JSON number.
func number(claims map[string]any, name string) (v float64, present, ok bool) {
	raw, present := claims[name]
	if !present {
		return 0, false, false
	}
	v, ok = raw.(float64)
	return v, true, ok
}

// unixString renders a NumericDate for a message, as RFC 3339 UTC when it
// is a representable time.
func unixString(sec float64) string {
	if sec < -62135596800 || sec > 253402300799 { // outside years 1..9999
		return "an out-of-range time"
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9)).UTC().Format(time.RFC3339)
}

// checkAudience intersects the token's audiences T with the issuer's A and,
// when the request names some, the request's R. The result keeps the order
// of A (deterministic, whatever the token's order) and has no duplicates.
// aud may be a string or an array of strings; anything else is malformed.
func (is *issuer) checkAudience(claims map[string]any, requested []string) ([]string, *decision.Error) {
	var accepted []string
	add := func(a string) {
		for _, x := range accepted {
			if x == a {
				return
			}
		}
		if len(requested) > 0 && !contains(requested, a) {
			return
		}
		if accepted == nil {
			accepted = make([]string, 0, len(is.audiences))
		}
		accepted = append(accepted, a)
	}
	switch aud := claims["aud"].(type) {
	case string:
		if is.hasAudience(aud) {
			add(aud)
		}
	case []any:
		// Walk A in order and look each up in T, so the result follows A.
		for _, elem := range aud {
			if _, ok := elem.(string); !ok {
				return nil, decision.Deny(decision.Malformed, "aud is not a string or an array of strings")
			}
		}
		for _, a := range is.audiences {
			for _, elem := range aud {
				if elem.(string) == a {
					add(a)
					break
				}
			}
		}
	case nil:
		if _, present := claims["aud"]; present {
			return nil, decision.Deny(decision.Malformed, "aud is not a string or an array of strings")
		}
		return nil, decision.Deny(decision.AudienceMismatch, "token has no aud; expected one of %q", is.audiences)
	default:
		return nil, decision.Deny(decision.Malformed, "aud is not a string or an array of strings")
	}
	if len(accepted) == 0 {
		if len(requested) > 0 {
			return nil, decision.Deny(decision.AudienceMismatch, "token audiences %v do not include one of the issuer's %q that is also requested in %q", claims["aud"], is.audiences, requested)
		}
		return nil, decision.Deny(decision.AudienceMismatch, "token audiences %v do not include one of %q", claims["aud"], is.audiences)
	}
	return accepted, nil
}

// hasAudience reports whether a is one of the issuer's audiences. Lists are
// short (usually one entry), so a scan beats a map.
func (is *issuer) hasAudience(a string) bool { return contains(is.audiences, a) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

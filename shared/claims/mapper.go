package claims

import (
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/decision"
)

// reservedPrefix is the name space of Kubernetes' own users and groups.
const reservedPrefix = "system:"

// Map turns the verified token's claims (its payload decoded as JSON into
// map[string]any, numbers as float64) into the user, in this order: claim
// validation rules, username/groups/uid (or the service-account preset),
// extra (credential-id from jti, then the extra mappings), the reserved
// "system:" guard, and the user validation rules.
//
// The error is a *decision.Error with reason claim_rule_failed,
// user_rule_failed, mapping_failed or reserved_name.
func (m *Mapper) Map(c map[string]any) (authenticationv1.UserInfo, error) {
	var act *activation
	if m.needClaims {
		act = newClaimsActivation(c)
	}
	u, err := m.mapUser(c, act)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return u, nil
}

// mapUser is Map returning the concrete error type.
func (m *Mapper) mapUser(c map[string]any, act *activation) (authenticationv1.UserInfo, *decision.Error) {
	var u authenticationv1.UserInfo
	if err := m.checkClaimRules(c, act); err != nil {
		return u, err
	}
	var err *decision.Error
	if m.preset != nil {
		err = m.preset.mapUser(c, &u)
	} else {
		err = m.mapIdentity(c, act, &u)
	}
	if err != nil {
		return u, err
	}
	if err := m.mapExtra(c, act, &u); err != nil {
		return u, err
	}
	if err := m.checkReserved(&u); err != nil {
		return u, err
	}
	if err := m.checkUserRules(&u); err != nil {
		return u, err
	}
	return u, nil
}

func (m *Mapper) checkClaimRules(c map[string]any, act *activation) *decision.Error {
	for _, r := range m.claimRules {
		if r.prog == nil {
			v, ok := c[r.claim]
			if !ok {
				return decision.Deny(decision.ClaimRuleFailed, "required claim %q is not present", r.claim)
			}
			s, ok := v.(string)
			if !ok {
				return decision.Deny(decision.ClaimRuleFailed, "required claim %q is not a string", r.claim)
			}
			if s != r.requiredValue {
				return decision.Deny(decision.ClaimRuleFailed, "required claim %q value does not match: got %q, want %q", r.claim, s, r.requiredValue)
			}
			continue
		}
		if err := checkRule(r.prog, act, r.message, decision.ClaimRuleFailed); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mapper) checkUserRules(u *authenticationv1.UserInfo) *decision.Error {
	if len(m.userRules) == 0 {
		return nil
	}
	act := newUserActivation(u)
	for _, r := range m.userRules {
		if err := checkRule(r.prog, act, r.message, decision.UserRuleFailed); err != nil {
			return err
		}
	}
	return nil
}

// checkRule evaluates a validation rule, which must return true.
func checkRule(p *program, act *activation, message string, reason decision.Reason) *decision.Error {
	v, err := p.eval(act)
	if err != nil {
		return decision.Deny(reason, "validation expression '%s': %v", p.expr, err)
	}
	b, ok := v.(types.Bool)
	if !ok {
		return decision.Deny(reason, "validation expression '%s' must return a boolean", p.expr)
	}
	if !b {
		if message == "" {
			return decision.Deny(reason, "validation expression '%s' failed", p.expr)
		}
		return decision.Deny(reason, "validation expression '%s' failed: %s", p.expr, message)
	}
	return nil
}

func (p *program) eval(act *activation) (ref.Val, error) {
	v, _, err := p.prg.Eval(act)
	return v, err
}

// mapIdentity maps username, groups and uid by claim or expression.
func (m *Mapper) mapIdentity(c map[string]any, act *activation, u *authenticationv1.UserInfo) *decision.Error {
	var err *decision.Error
	if u.Username, err = m.mapUsername(c, act); err != nil {
		return err
	}
	if u.Groups, err = m.mapGroups(c, act); err != nil {
		return err
	}
	u.UID, err = m.mapUID(c, act)
	return err
}

func (m *Mapper) mapUsername(c map[string]any, act *activation) (string, *decision.Error) {
	if p := m.username.prog; p != nil {
		v, err := p.eval(act)
		if err != nil {
			return "", decision.Deny(decision.MappingFailed, "username expression: %v", err)
		}
		s, ok := v.(types.String)
		if !ok {
			return "", decision.Deny(decision.MappingFailed, "username expression must return a string")
		}
		if s == "" {
			return "", decision.Deny(decision.MappingFailed, "empty username via CEL expression is not allowed")
		}
		return string(s), nil
	}
	claim := m.username.claim
	v, ok := c[claim]
	if !ok {
		return "", decision.Deny(decision.MappingFailed, "username claim %q is not present", claim)
	}
	s, ok := v.(string)
	if !ok {
		return "", decision.Deny(decision.MappingFailed, "username claim %q is not a string", claim)
	}
	if m.emailVerifiedCheck {
		// kube-apiserver: when email is the username claim, an
		// email_verified claim, if present, must be true.
		if ev, present := c["email_verified"]; present {
			b, isBool := ev.(bool)
			if !isBool {
				return "", decision.Deny(decision.MappingFailed, "email_verified claim is not a boolean")
			}
			if !b {
				return "", decision.Deny(decision.MappingFailed, "email not verified")
			}
		}
	}
	if m.username.prefix == "" {
		return s, nil
	}
	return m.username.prefix + s, nil
}

func (m *Mapper) mapGroups(c map[string]any, act *activation) ([]string, *decision.Error) {
	if p := m.groups.prog; p != nil {
		v, err := p.eval(act)
		if err != nil {
			return nil, decision.Deny(decision.MappingFailed, "groups expression: %v", err)
		}
		groups, err := stringList(v, "")
		if err != nil {
			return nil, decision.Deny(decision.MappingFailed, "groups expression: %v", err)
		}
		return groups, nil
	}
	if m.groups.claim == "" {
		return nil, nil
	}
	groups, ok := claimStrings(c[m.groups.claim], m.groups.prefix)
	if !ok {
		return nil, decision.Deny(decision.MappingFailed, "groups claim %q must be a string or an array of strings", m.groups.claim)
	}
	return groups, nil
}

// claimStrings reads a string or an array of strings (missing or null:
// none), dropping empty strings and putting prefix before each value.
func claimStrings(v any, prefix string) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		if t == "" {
			return nil, true
		}
		return []string{prefix + t}, true
	case []any:
		var out []string
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			if s == "" {
				continue
			}
			if out == nil {
				out = make([]string, 0, len(t)-i)
			}
			out = append(out, prefix+s)
		}
		return out, true
	}
	return nil, false
}

func (m *Mapper) mapUID(c map[string]any, act *activation) (string, *decision.Error) {
	if p := m.uid.prog; p != nil {
		v, err := p.eval(act)
		if err != nil {
			return "", decision.Deny(decision.MappingFailed, "uid expression: %v", err)
		}
		s, ok := v.(types.String)
		if !ok {
			return "", decision.Deny(decision.MappingFailed, "uid expression must return a string")
		}
		return string(s), nil
	}
	if m.uid.claim == "" {
		return "", nil
	}
	v, ok := c[m.uid.claim]
	if !ok {
		return "", decision.Deny(decision.MappingFailed, "uid claim %q is not present", m.uid.claim)
	}
	s, ok := v.(string)
	if !ok {
		return "", decision.Deny(decision.MappingFailed, "uid claim %q is not a string", m.uid.claim)
	}
	return s, nil
}

// mapExtra adds credential-id from a non-empty string jti (the preset
// already did), then each extra mapping; a mapping that yields nothing
// sets no key.
func (m *Mapper) mapExtra(c map[string]any, act *activation, u *authenticationv1.UserInfo) *decision.Error {
	if jti, _ := c["jti"].(string); jti != "" && m.preset == nil {
		if u.Extra == nil {
			u.Extra = make(map[string]authenticationv1.ExtraValue, 1+len(m.extra))
		}
		u.Extra[credentialIDKey] = authenticationv1.ExtraValue{"JTI=" + jti}
	}
	for _, e := range m.extra {
		v, err := e.prog.eval(act)
		if err != nil {
			return decision.Deny(decision.MappingFailed, "extra %q expression: %v", e.key, err)
		}
		vals, err := stringList(v, "")
		if err != nil {
			return decision.Deny(decision.MappingFailed, "extra %q expression: %v", e.key, err)
		}
		if len(vals) == 0 {
			continue
		}
		if u.Extra == nil {
			u.Extra = make(map[string]authenticationv1.ExtraValue, len(m.extra))
		}
		u.Extra[e.key] = vals
	}
	return nil
}

// checkReserved refuses a username or group in the "system:" space unless
// the issuer allows it.
func (m *Mapper) checkReserved(u *authenticationv1.UserInfo) *decision.Error {
	if m.allowReserved {
		return nil
	}
	if strings.HasPrefix(u.Username, reservedPrefix) {
		return decision.Deny(decision.ReservedName, "username %q is reserved (starts with %q)", u.Username, reservedPrefix)
	}
	for _, g := range u.Groups {
		if strings.HasPrefix(g, reservedPrefix) {
			return decision.Deny(decision.ReservedName, "group %q is reserved (starts with %q)", g, reservedPrefix)
		}
	}
	return nil
}

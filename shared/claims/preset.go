package claims

import (
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

// The names kube-apiserver's service-account authenticator gives a
// service account (k8s.io/apiserver/pkg/authentication/serviceaccount).
const (
	saClaim           = "kubernetes.io"
	saUsernamePrefix  = "system:serviceaccount:"
	saAllGroup        = "system:serviceaccounts"
	saNamespaceGroups = "system:serviceaccounts:"

	podNameKey      = "authentication.kubernetes.io/pod-name"
	podUIDKey       = "authentication.kubernetes.io/pod-uid"
	nodeNameKey     = "authentication.kubernetes.io/node-name"
	nodeUIDKey      = "authentication.kubernetes.io/node-uid"
	credentialIDKey = "authentication.kubernetes.io/credential-id"
)

// saPreset is the compiled Kubernetes service-account preset, with the
// prefixed name parts built once.
type saPreset struct {
	usernamePrefix  string // prefix + "system:serviceaccount:"
	allGroup        string // prefix + "system:serviceaccounts"
	namespaceGroups string // prefix + "system:serviceaccounts:"
	namespaces      []pattern
	names           []pattern // empty: any
}

// pattern is one allow-list entry: exact, or a prefix when it ended in "*"
// ("*" alone is the empty prefix, so it matches anything).
type pattern struct {
	value  string
	prefix bool
}

func (p pattern) matches(s string) bool {
	if p.prefix {
		return strings.HasPrefix(s, p.value)
	}
	return s == p.value
}

func allowed(list []pattern, s string) bool {
	for _, p := range list {
		if p.matches(s) {
			return true
		}
	}
	return false
}

func (c *compiler) preset(p *config.ServiceAccountPreset, cm *config.ClaimMappings, path, mappings *field.Path) {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"username", cm.Username.Claim != "" || cm.Username.Expression != "" || cm.Username.Prefix != nil},
		{"groups", cm.Groups.Claim != "" || cm.Groups.Expression != "" || cm.Groups.Prefix != nil},
		{"uid", cm.UID.Claim != "" || cm.UID.Expression != ""},
	} {
		if f.set {
			c.errs = append(c.errs, field.Invalid(mappings.Child(f.name), "", "may not be set with kubernetesServiceAccount"))
		}
	}
	var prefix string
	if p.Prefix != nil {
		prefix = *p.Prefix
	}
	sp := &saPreset{
		usernamePrefix:  prefix + saUsernamePrefix,
		allGroup:        prefix + saAllGroup,
		namespaceGroups: prefix + saNamespaceGroups,
		namespaces:      c.patterns(p.Namespaces, path.Child("namespaces")),
		names:           c.patterns(p.ServiceAccountNames, path.Child("serviceAccountNames")),
	}
	if len(p.Namespaces) == 0 {
		c.errs = append(c.errs, field.Required(path.Child("namespaces"), "at least one namespace (or \"*\") is required"))
	}
	c.m.preset = sp
}

func (c *compiler) patterns(entries []string, path *field.Path) []pattern {
	out := make([]pattern, 0, len(entries))
	for i, e := range entries {
		if e == "" {
			c.errs = append(c.errs, field.Required(path.Index(i), "must not be empty"))
			continue
		}
		if v, ok := strings.CutSuffix(e, "*"); ok {
			out = append(out, pattern{value: v, prefix: true})
			continue
		}
		out = append(out, pattern{value: e})
	}
	return out
}

// mapUser builds, from the kubernetes.io claim, the user kube-apiserver's
// service-account authenticator builds (serviceaccount.ServiceAccountInfo
// UserInfo), with the preset's prefix on the username and the groups.
func (p *saPreset) mapUser(c map[string]any, u *authenticationv1.UserInfo) *decision.Error {
	k, ok := c[saClaim].(map[string]any)
	if !ok {
		return decision.Deny(decision.MappingFailed, "the kubernetes.io claim is missing or not an object")
	}
	ns, err := requiredString(k, "namespace", "kubernetes.io.namespace")
	if err != nil {
		return err
	}
	sa, ok := optionalObject(k, "serviceaccount")
	if !ok {
		return decision.Deny(decision.MappingFailed, "kubernetes.io.serviceaccount is not an object")
	}
	name, err := requiredString(sa, "name", "kubernetes.io.serviceaccount.name")
	if err != nil {
		return err
	}
	uid, err := requiredString(sa, "uid", "kubernetes.io.serviceaccount.uid")
	if err != nil {
		return err
	}
	if sub, _ := c["sub"].(string); !isServiceAccountName(sub, ns, name) {
		return decision.Deny(decision.MappingFailed, "sub does not match system:serviceaccount:%s:%s from the kubernetes.io claim", ns, name)
	}
	if !allowed(p.namespaces, ns) {
		return decision.Deny(decision.ClaimRuleFailed, "service account namespace %q is not allowed", ns)
	}
	if len(p.names) > 0 && !allowed(p.names, name) {
		return decision.Deny(decision.ClaimRuleFailed, "service account %q in namespace %q is not allowed", name, ns)
	}
	var pod, node [2]string
	if err := namedObject(k, "pod", &pod); err != nil {
		return err
	}
	if err := namedObject(k, "node", &node); err != nil {
		return err
	}

	u.Username = p.usernamePrefix + ns + ":" + name
	u.UID = uid
	u.Groups = []string{p.allGroup, p.namespaceGroups + ns}
	jti, _ := c["jti"].(string)
	p.extra(u, pod, node, jti)
	return nil
}

// extra adds pod-name and pod-uid (only both), node-name and node-uid
// (only with a node name) and credential-id (with a jti), sharing one
// backing array.
func (p *saPreset) extra(u *authenticationv1.UserInfo, pod, node [2]string, jti string) {
	hasPod := pod[0] != "" && pod[1] != ""
	n := 0
	if jti != "" {
		n++
	}
	if hasPod {
		n += 2
	}
	if node[0] != "" {
		n++
		if node[1] != "" {
			n++
		}
	}
	if n == 0 {
		return
	}
	vals := make([]string, 0, n)
	u.Extra = make(map[string]authenticationv1.ExtraValue, n)
	add := func(key, v string) {
		vals = append(vals, v)
		u.Extra[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if hasPod {
		add(podNameKey, pod[0])
		add(podUIDKey, pod[1])
	}
	if node[0] != "" {
		add(nodeNameKey, node[0])
		if node[1] != "" {
			add(nodeUIDKey, node[1])
		}
	}
	if jti != "" {
		add(credentialIDKey, "JTI="+jti)
	}
}

// isServiceAccountName reports whether sub is
// system:serviceaccount:<ns>:<name>, without building that string.
func isServiceAccountName(sub, ns, name string) bool {
	rest, ok := strings.CutPrefix(sub, saUsernamePrefix)
	return ok && len(rest) == len(ns)+1+len(name) &&
		rest[:len(ns)] == ns && rest[len(ns)] == ':' && rest[len(ns)+1:] == name
}

func requiredString(m map[string]any, key, what string) (string, *decision.Error) {
	s, ok := m[key].(string)
	if !ok || s == "" {
		return "", decision.Deny(decision.MappingFailed, "%s is missing or not a non-empty string", what)
	}
	return s, nil
}

// optionalObject returns m[key] as an object, nil when absent or null; ok
// is false when it is present with another type.
func optionalObject(m map[string]any, key string) (map[string]any, bool) {
	v, present := m[key]
	if !present || v == nil {
		return nil, true
	}
	o, ok := v.(map[string]any)
	return o, ok
}

// namedObject reads kubernetes.io.<key>.{name,uid} when present; both
// must be strings when set.
func namedObject(k map[string]any, key string, out *[2]string) *decision.Error {
	o, ok := optionalObject(k, key)
	if !ok {
		return decision.Deny(decision.MappingFailed, "kubernetes.io.%s is not an object", key)
	}
	for i, f := range [2]string{"name", "uid"} {
		v, ok := o[f]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return decision.Deny(decision.MappingFailed, "kubernetes.io.%s.%s is not a string", key, f)
		}
		out[i] = s
	}
	return nil
}

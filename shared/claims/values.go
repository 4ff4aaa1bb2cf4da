package claims

import (
	"errors"
	"regexp"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
	authenticationv1 "k8s.io/api/authentication/v1"
)

// activation binds one variable (claims or user) for an evaluation. One is
// built per Map call and shared by every program of that kind.
type activation struct {
	name  string
	value ref.Val
}

var _ interpreter.Activation = (*activation)(nil)

// ResolveName returns the bound value for the variable's name.
func (a *activation) ResolveName(name string) (any, bool) {
	if name != a.name {
		return nil, false
	}
	return a.value, true
}

// Parent returns nil: there is no enclosing scope.
func (a *activation) Parent() interpreter.Activation { return nil }

// newClaimsActivation wraps the decoded claims without copying them; values
// are converted to CEL values only when an expression reads them.
func newClaimsActivation(c map[string]any) *activation {
	return &activation{name: claimsVar, value: unescapeWrap(types.NewStringInterfaceMap(types.DefaultTypeAdapter, c))}
}

// newUserActivation exposes the mapped user as kubernetes.UserInfo.
func newUserActivation(u *authenticationv1.UserInfo) *activation {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	extra := make(map[string][]string, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = v
	}
	fields := map[string]any{
		"username": u.Username,
		"uid":      u.UID,
		"groups":   groups,
		"extra":    extra,
	}
	return &activation{name: userVar, value: unescapeWrap(types.NewStringInterfaceMap(types.DefaultTypeAdapter, fields))}
}

// unescapeMapper and unescapeLister give JSON objects at any depth
// kube-apiserver's field-name escaping, so that
// claims.kubernetes__dot__io.namespace reads the "kubernetes.io" claim
// (k8s.io/apiserver/pkg/cel/escaping.go, oidc.go unescapeWrapper).
type unescapeMapper struct{ traits.Mapper }

// Find looks key up, unescaping an escaped field name first.
func (m unescapeMapper) Find(key ref.Val) (ref.Val, bool) {
	if s, ok := key.(types.String); ok {
		if name, ok := unescapeName(string(s)); ok {
			key = types.String(name)
		}
	}
	v, found := m.Mapper.Find(key)
	return unescapeWrap(v), found
}

type unescapeLister struct{ traits.Lister }

// Get returns the element at index, wrapped for escaping.
func (l unescapeLister) Get(index ref.Val) ref.Val { return unescapeWrap(l.Lister.Get(index)) }

func unescapeWrap(v ref.Val) ref.Val {
	switch t := v.(type) {
	case unescapeMapper, unescapeLister:
		return v
	case traits.Mapper:
		return unescapeMapper{t}
	case traits.Lister:
		return unescapeLister{t}
	}
	return v
}

var escapeSequence = regexp.MustCompile(`(_{2}[^_]+_{2})`)

// celReserved are the words kube-apiserver lets a field name escape as
// __word__.
var celReserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
	"const": true, "continue": true, "else": true, "for": true, "function": true,
	"if": true, "import": true, "let": true, "loop": true, "package": true,
	"namespace": true, "return": true, "var": true, "void": true, "while": true,
}

// unescapeName reverses kube-apiserver's escaping of a field name
// (__dot__, __dash__, __slash__, __underscores__, __<reserved word>__). It
// reports false when name holds no escape or an invalid one.
func unescapeName(name string) (string, bool) {
	if !strings.Contains(name, "__") {
		return "", false
	}
	ok := true
	out := escapeSequence.ReplaceAllStringFunc(name, func(s string) string {
		contents := s[2 : len(s)-2]
		switch contents {
		case "underscores":
			return "__"
		case "dot":
			return "."
		case "dash":
			return "-"
		case "slash":
			return "/"
		}
		if celReserved[contents] && len(s) == len(name) {
			return contents
		}
		ok = false
		return ""
	})
	if !ok || out == name {
		return "", false
	}
	return out, true
}

var errNotStrings = errors.New("expression must return a string or a list of strings")

// stringList converts the result of a groups or extra expression: a string,
// a list of strings or null. "", [] and null mean absent (nil); empty
// strings in a list are dropped. prefix, when not empty, is put before
// each value.
func stringList(v ref.Val, prefix string) ([]string, error) {
	switch t := v.(type) {
	case types.String:
		if t == "" {
			return nil, nil
		}
		return []string{prefix + string(t)}, nil
	case types.Null:
		return nil, nil
	case traits.Lister:
		n, ok := t.Size().(types.Int)
		if !ok {
			return nil, errNotStrings
		}
		var out []string
		for i := types.Int(0); i < n; i++ {
			s, ok := t.Get(i).(types.String)
			if !ok {
				return nil, errNotStrings
			}
			if s != "" {
				if out == nil {
					out = make([]string, 0, int(n-i))
				}
				out = append(out, prefix+string(s))
			}
		}
		return out, nil
	}
	return nil, errNotStrings
}

package claims

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

func exprMappings(username, groups, uid string, extra ...config.ExtraMapping) config.ClaimMappings {
	return config.ClaimMappings{
		Username: config.PrefixedClaimOrExpression{Expression: username},
		Groups:   config.PrefixedClaimOrExpression{Expression: groups},
		UID:      config.ClaimOrExpression{Expression: uid},
		Extra:    extra,
	}
}

func TestMapCELMappings(t *testing.T) {
	runMapCases(t, []mapCase{
		{
			name: "hard-coded username, groups, uid and extra",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(`"foo"`, `["bar", "baz"]`, `"1234"`,
				config.ExtraMapping{Key: "example.com/a", ValueExpression: `"x"`},
				config.ExtraMapping{Key: "example.com/b", ValueExpression: `["y", "z"]`})},
			claims: `{"sub":"ignored"}`,
			want: authenticationv1.UserInfo{Username: "foo", UID: "1234", Groups: []string{"bar", "baz"},
				Extra: extraMap{"example.com/a": {"x"}, "example.com/b": {"y", "z"}}},
		},
		{
			name: "derived username, groups, uid and extra",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(
				`"oidc:" + claims.sub`,
				`claims.roles.split(",").map(r, "idp:" + r.trim())`,
				`claims.oid`,
				config.ExtraMapping{Key: "example.com/tenant", ValueExpression: `claims.tid.upperAscii()`},
				config.ExtraMapping{Key: "example.com/scopes", ValueExpression: `claims.scp`})},
			claims: `{"sub":"jane","roles":"admin, dev","oid":"o-1","tid":"acme","scp":["read","","write"]}`,
			want: authenticationv1.UserInfo{Username: "oidc:jane", UID: "o-1", Groups: []string{"idp:admin", "idp:dev"},
				Extra: extraMap{"example.com/tenant": {"ACME"}, "example.com/scopes": {"read", "write"}}},
		},
		{
			name:   "empty username via CEL is refused",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, "", "")},
			claims: `{"sub":""}`,
			reason: decision.MappingFailed, msg: "empty username via CEL expression is not allowed",
		},
		{
			name:   "username expression must return a string",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.n`, "", "")},
			claims: `{"n":1}`,
			reason: decision.MappingFailed, msg: "username expression must return a string",
		},
		{
			name:   "username expression on a missing claim",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.upn`, "", "")},
			claims: `{"sub":"jane"}`,
			reason: decision.MappingFailed, msg: "username expression: no such key: upn",
		},
		{
			name:   "groups expression null",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, `claims.?groups.orValue(null)`, "")},
			claims: `{"sub":"jane"}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "groups expression empty string and empty list are absent",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, `claims.g`, "",
				config.ExtraMapping{Key: "example.com/e", ValueExpression: `claims.e`})},
			claims: `{"sub":"jane","g":"","e":[]}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name:   "groups expression with a non-string",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, `claims.g`, "")},
			claims: `{"sub":"jane","g":["a",2]}`,
			reason: decision.MappingFailed, msg: "groups expression: expression must return a string or a list of strings",
		},
		{
			name:   "uid expression must return a string",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, "", `claims.n`)},
			claims: `{"sub":"jane","n":3}`,
			reason: decision.MappingFailed, msg: "uid expression must return a string",
		},
		{
			name: "extra expression with a non-string",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub`, "", "",
				config.ExtraMapping{Key: "example.com/e", ValueExpression: `claims.n`})},
			claims: `{"sub":"jane","n":3}`,
			reason: decision.MappingFailed, msg: `extra "example.com/e" expression: expression must return a string or a list of strings`,
		},
		{
			name:   "deeply nested claims with optionals, present",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.?a.?b.?c.orValue("none")`, `claims.?x.?y.orValue([])`, "")},
			claims: `{"a":{"b":{"c":"deep"}},"x":{"y":["g1"]}}`,
			want:   authenticationv1.UserInfo{Username: "deep", Groups: []string{"g1"}},
		},
		{
			name:   "deeply nested claims with optionals, absent",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.?a.?b.?c.orValue("none")`, `claims.?x.?y.orValue([])`, "")},
			claims: `{"a":{"b":{}}}`,
			want:   authenticationv1.UserInfo{Username: "none"},
		},
		{
			name:   "deeply nested claims without optionals, absent",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.a.b.c`, "", "")},
			claims: `{"a":{"b":{}}}`,
			reason: decision.MappingFailed, msg: "username expression: no such key: c",
		},
		{
			name: "claim names with dots and dashes: index and escaped forms",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(
				`claims["example.com/user"]`,
				`[claims.example__dot__com__slash__team, claims["my-group"], claims.my__dash__group]`, "")},
			claims: `{"example.com/user":"jane","example.com/team":"t1","my-group":"g2"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"t1", "g2", "g2"}},
		},
		{
			name: "regex and string functions (email_verified referenced in a claim rule)",
			j: config.JWTAuthenticator{
				ClaimValidationRules: []config.ClaimValidationRule{{Expression: `claims.?email_verified.orValue(true) == true`}},
				ClaimMappings: exprMappings(
					`claims.email.find("^[^@]+")`, `claims.email.findAll("[a-z]+", 2)`,
					`claims.email.matches("@example[.]com$") ? "internal" : "external"`),
			},
			claims: `{"email":"jane@example.com"}`,
			want:   authenticationv1.UserInfo{Username: "jane", UID: "internal", Groups: []string{"jane", "example"}},
		},
		{
			name: "regex functions with patterns from claims",
			j: config.JWTAuthenticator{ClaimMappings: exprMappings(
				`claims.sub.find(claims.p)`, `claims.sub.findAll(claims.p)`, "")},
			claims: `{"sub":"a1b22c333","p":"[0-9]+"}`,
			want:   authenticationv1.UserInfo{Username: "1", Groups: []string{"1", "22", "333"}},
		},
		{
			name:   "regex pattern from a claim that does not compile",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(`claims.sub.find(claims.p)`, "", "")},
			claims: `{"sub":"a","p":"("}`,
			reason: decision.MappingFailed, msg: "username expression: Illegal regex: error parsing regexp: missing closing ): `(`",
		},
	})
}

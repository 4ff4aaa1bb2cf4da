package claims

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/config"
)

// wantErr is one expected field error: its type, path and a fragment of
// its detail.
type wantErr struct {
	typ    field.ErrorType
	path   string
	detail string
}

func TestCompileErrors(t *testing.T) {
	emailUser := func(mod func(*config.JWTAuthenticator)) config.JWTAuthenticator {
		j := config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
			Username: config.PrefixedClaimOrExpression{Expression: `claims.email`},
		}}
		if mod != nil {
			mod(&j)
		}
		return j
	}
	const emailDetail = "claims.email_verified must be used in claimMappings.username.expression or claimMappings.extra[*].valueExpression or claimValidationRules[*].expression when claims.email is used in claimMappings.username.expression"
	emailErr := []wantErr{{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.expression", emailDetail}}

	for _, tc := range []struct {
		name string
		j    config.JWTAuthenticator
		want []wantErr // nil: compiles
	}{
		{
			name: "syntax errors in every kind of expression, with their paths",
			j: config.JWTAuthenticator{
				ClaimValidationRules: []config.ClaimValidationRule{{Claim: "hd", RequiredValue: "x"}, {Expression: `claims.a ==`}},
				ClaimMappings: config.ClaimMappings{
					Username: config.PrefixedClaimOrExpression{Expression: `claims.sub +`},
					Groups:   config.PrefixedClaimOrExpression{Expression: `[`},
					UID:      config.ClaimOrExpression{Expression: `)`},
					Extra:    []config.ExtraMapping{{Key: "example.com/a", ValueExpression: `"ok"`}, {Key: "example.com/b", ValueExpression: `claims.`}},
				},
				UserValidationRules: []config.UserValidationRule{{Expression: `true`}, {Expression: `user.`}},
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, "jwt[0].claimValidationRules[1].expression", "compilation failed: "},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.expression", "compilation failed: "},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.groups.expression", "compilation failed: "},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.uid.expression", "compilation failed: "},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.extra[1].valueExpression", "compilation failed: "},
				{field.ErrorTypeInvalid, "jwt[0].userValidationRules[1].expression", "compilation failed: "},
			},
		},
		{
			name: "rules must be bool",
			j: config.JWTAuthenticator{
				ClaimValidationRules: []config.ClaimValidationRule{{Expression: `claims.hd`}},
				ClaimMappings:        subUser(),
				UserValidationRules:  []config.UserValidationRule{{Expression: `user.username`}},
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, "jwt[0].claimValidationRules[0].expression", "must evaluate to bool"},
				{field.ErrorTypeInvalid, "jwt[0].userValidationRules[0].expression", "must evaluate to bool"},
			},
		},
		{
			name: "user is typed as kubernetes.UserInfo",
			j: config.JWTAuthenticator{ClaimMappings: subUser(), UserValidationRules: []config.UserValidationRule{
				{Expression: `user.name == "x"`}, {Expression: `user.groups == "x"`}, {Expression: `claims.sub == "x"`},
			}},
			want: []wantErr{
				{field.ErrorTypeInvalid, "jwt[0].userValidationRules[0].expression", "undefined field 'name'"},
				{field.ErrorTypeInvalid, "jwt[0].userValidationRules[1].expression", "no matching overload"},
				{field.ErrorTypeInvalid, "jwt[0].userValidationRules[2].expression", "undeclared reference to 'claims'"},
			},
		},
		{
			name: "claims expressions cannot see user",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Expression: `user.username`},
			}},
			want: []wantErr{{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.expression", "undeclared reference to 'user'"}},
		},
		{
			name: "invalid constant pattern in find",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Expression: `claims.sub.find("(")`},
			}},
			want: []wantErr{{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.expression", "program instantiation failed: "}},
		},
		{
			name: "invalid regex literal",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Expression: `claims.sub.matches("(") ? "a" : "b"`},
			}},
			want: []wantErr{{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.expression", "compilation failed: "}},
		},
		{name: "email without email_verified", j: emailUser(nil), want: emailErr},
		{name: "email_verified in the username expression", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Username.Expression = `claims.?email_verified.orValue(true) == true ? claims.email : ""`
		})},
		{name: "email_verified via has() in the username expression", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Username.Expression = `has(claims.email_verified) && !claims.email_verified ? "" : claims.email`
		})},
		{name: "email_verified in an extra expression", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Extra = []config.ExtraMapping{{Key: "example.com/v", ValueExpression: `string(claims.email_verified)`}}
		})},
		{name: "email_verified in a claim rule", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimValidationRules = []config.ClaimValidationRule{{Expression: `claims.?email_verified.orValue(true) == true`}}
		})},
		{name: "email_verified inside a comprehension counts", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimValidationRules = []config.ClaimValidationRule{{Expression: `[1].all(x, claims.email_verified == true)`}}
		})},
		{name: "optional email counts as using email", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Username.Expression = `claims.?email.orValue("anonymous")`
		}), want: emailErr},
		{name: "email_verified in the groups expression does not count", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Groups.Expression = `claims.email_verified ? ["verified"] : []`
		}), want: emailErr},
		{name: "email_verified in a user rule does not count", j: emailUser(func(j *config.JWTAuthenticator) {
			j.UserValidationRules = []config.UserValidationRule{{Expression: `user.username != "claims.email_verified"`}}
		}), want: emailErr},
		{name: "email_verified by index does not count (AST, as kube)", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimValidationRules = []config.ClaimValidationRule{{Expression: `claims["email_verified"] == true`}}
		}), want: emailErr},
		{name: "email_verified in a string literal does not count", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Username.Expression = `claims.email + "claims.email_verified"`
		}), want: emailErr},
		{name: "email by index is not subject to the rule (as kube)", j: emailUser(func(j *config.JWTAuthenticator) {
			j.ClaimMappings.Username.Expression = `claims["email"]`
		})},
		{
			name: "structural mistakes Compile cannot map",
			j: config.JWTAuthenticator{
				ClaimValidationRules: []config.ClaimValidationRule{{}, {Claim: "a", Expression: "true"}},
				ClaimMappings: config.ClaimMappings{
					Groups: config.PrefixedClaimOrExpression{Claim: "g", Expression: `["a"]`},
					UID:    config.ClaimOrExpression{Claim: "u", Expression: `"u"`},
					Extra:  []config.ExtraMapping{{Key: "example.com/a"}, {ValueExpression: `"x"`}},
				},
				UserValidationRules: []config.UserValidationRule{{}},
			},
			want: []wantErr{
				{field.ErrorTypeRequired, "jwt[0].claimValidationRules[0]", "claim or expression is required"},
				{field.ErrorTypeInvalid, "jwt[0].claimValidationRules[1]", "claim and expression can't both be set"},
				{field.ErrorTypeRequired, "jwt[0].claimMappings.username", "claim or expression is required"},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.groups", "claim and expression can't both be set"},
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.uid", "claim and expression can't both be set"},
				{field.ErrorTypeRequired, "jwt[0].claimMappings.extra[0].valueExpression", ""},
				{field.ErrorTypeRequired, "jwt[0].claimMappings.extra[1].key", ""},
				{field.ErrorTypeRequired, "jwt[0].userValidationRules[0].expression", ""},
			},
		},
		{
			name: "prefix with an expression",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Expression: `claims.sub`, Prefix: strPtr("p:")},
			}},
			want: []wantErr{{field.ErrorTypeInvalid, "jwt[0].claimMappings.username.prefix", "may not be specified when expression is set"}},
		},
		{
			name: "service-account preset without namespaces and with mappings it replaces",
			j: config.JWTAuthenticator{
				KubernetesServiceAccount: &config.ServiceAccountPreset{Prefix: strPtr("b:"), ServiceAccountNames: []string{""}},
				ClaimMappings:            subUser(),
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, "jwt[0].claimMappings.username", "may not be set with kubernetesServiceAccount"},
				{field.ErrorTypeRequired, "jwt[0].kubernetesServiceAccount.serviceAccountNames[0]", "must not be empty"},
				{field.ErrorTypeRequired, "jwt[0].kubernetesServiceAccount.namespaces", "at least one namespace"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, errs := Compile(&tc.j, field.NewPath("jwt").Index(0))
			if tc.want == nil {
				if len(errs) > 0 || m == nil {
					t.Fatalf("Compile: %v", errs.ToAggregate())
				}
				return
			}
			if m != nil {
				t.Errorf("Compile returned a Mapper with errors")
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("Compile errors = %d:\n%v\nwant %d", len(errs), errs.ToAggregate(), len(tc.want))
			}
			for i, w := range tc.want {
				e := errs[i]
				if e.Type != w.typ || e.Field != w.path || !strings.Contains(e.Detail, w.detail) {
					t.Errorf("error %d = {%s %s %q}, want {%s %s ...%q...}", i, e.Type, e.Field, e.Detail, w.typ, w.path, w.detail)
				}
			}
		})
	}
}

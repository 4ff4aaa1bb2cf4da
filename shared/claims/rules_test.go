package claims

import (
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

// saPayload is a pod-bound service-account token's payload as
// kube-apiserver v1.3x mints it.
const saPayload = `{
	"aud": ["https://kubernetes.default.svc.cluster.local"],
	"exp": 1790000000, "iat": 1789996400, "nbf": 1789996400,
	"iss": "https://oidc.cluster-b.example",
	"jti": "8b3a2d6e-5c0b-4a6f-9c3e-0c7d2c1b9a10",
	"kubernetes.io": {
		"namespace": "team-a",
		"node": {"name": "ip-10-0-1-7.ec2.internal", "uid": "0f6c5b2e-node"},
		"pod": {"name": "builder-7d9f8", "uid": "5e1b7c44-pod"},
		"serviceaccount": {"name": "builder", "uid": "c1d2e3f4-sa"},
		"warnafter": 1789999903
	},
	"sub": "system:serviceaccount:team-a:builder"
}`

func TestMapServiceAccountPayloadThroughCEL(t *testing.T) {
	// kube-apiserver's oidc_test "SA token through CEL" configuration.
	j := config.JWTAuthenticator{
		AllowReservedNames: true,
		ClaimValidationRules: []config.ClaimValidationRule{
			{Expression: `claims.sub == ("system:serviceaccount:" + claims.kubernetes__dot__io.namespace + ":" + claims.kubernetes__dot__io.serviceaccount.name)`},
			{Expression: `has(claims.kubernetes__dot__io.pod.uid)`},
			{Expression: `claims["kubernetes.io"]["node"]["uid"] != ""`},
		},
		ClaimMappings: config.ClaimMappings{
			Username: config.PrefixedClaimOrExpression{Expression: `"system:serviceaccount:" + claims.kubernetes__dot__io.namespace + ":" + claims.kubernetes__dot__io.serviceaccount.name`},
			UID:      config.ClaimOrExpression{Expression: "claims.kubernetes__dot__io.serviceaccount.uid"},
			Groups:   config.PrefixedClaimOrExpression{Expression: `["system:serviceaccounts", "system:serviceaccounts:" + claims.kubernetes__dot__io.namespace]`},
			Extra: []config.ExtraMapping{
				{Key: "authentication.x-kubernetes.io/pod-name", ValueExpression: "claims.kubernetes__dot__io.pod.name"},
				{Key: "authentication.x-kubernetes.io/pod-uid", ValueExpression: "claims.kubernetes__dot__io.pod.uid"},
				{Key: "authentication.x-kubernetes.io/node-name", ValueExpression: "claims.kubernetes__dot__io.node.name"},
				{Key: "authentication.x-kubernetes.io/node-uid", ValueExpression: "claims.kubernetes__dot__io.node.uid"},
				{Key: "test.x-kubernetes.io/warnafter", ValueExpression: "string(int(claims.kubernetes__dot__io.warnafter))"},
			},
		},
		UserValidationRules: []config.UserValidationRule{
			{Expression: `user.username == "system:serviceaccount:team-a:builder"`},
			{Expression: `"system:serviceaccounts" in user.groups && user.groups.size() == 2`},
			{Expression: `user.extra.authentication__dot__x__dash__kubernetes__dot__io__slash__pod__dash__name == ["builder-7d9f8"]`},
		},
	}
	runMapCases(t, []mapCase{{
		name: "sa payload", j: j, claims: saPayload,
		want: authenticationv1.UserInfo{
			Username: "system:serviceaccount:team-a:builder",
			UID:      "c1d2e3f4-sa",
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:team-a"},
			Extra: extraMap{
				credentialIDKey: {"JTI=8b3a2d6e-5c0b-4a6f-9c3e-0c7d2c1b9a10"},
				"authentication.x-kubernetes.io/pod-name":  {"builder-7d9f8"},
				"authentication.x-kubernetes.io/pod-uid":   {"5e1b7c44-pod"},
				"authentication.x-kubernetes.io/node-name": {"ip-10-0-1-7.ec2.internal"},
				"authentication.x-kubernetes.io/node-uid":  {"0f6c5b2e-node"},
				"test.x-kubernetes.io/warnafter":           {"1789999903"},
			},
		},
	}})
}

func TestMapClaimValidationRules(t *testing.T) {
	required := config.JWTAuthenticator{ClaimMappings: subUser(),
		ClaimValidationRules: []config.ClaimValidationRule{{Claim: "hd", RequiredValue: "example.com"}}}
	rule := func(expr, msg string) config.JWTAuthenticator {
		return config.JWTAuthenticator{ClaimMappings: subUser(),
			ClaimValidationRules: []config.ClaimValidationRule{{Expression: expr, Message: msg}}}
	}
	audience := rule(`sets.equivalent(claims.aud, ["api", "web"])`, "token must be for exactly api and web")
	runMapCases(t, []mapCase{
		{name: "required claim present", j: required, claims: `{"sub":"jane","hd":"example.com"}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "required claim missing", j: required, claims: `{"sub":"jane"}`,
			reason: decision.ClaimRuleFailed, msg: `required claim "hd" is not present`},
		{name: "required claim wrong value", j: required, claims: `{"sub":"jane","hd":"evil.com"}`,
			reason: decision.ClaimRuleFailed, msg: `required claim "hd" value does not match: got "evil.com", want "example.com"`},
		{name: "required claim not a string", j: required, claims: `{"sub":"jane","hd":true}`,
			reason: decision.ClaimRuleFailed, msg: `required claim "hd" is not a string`},
		{name: "claim rules run before mapping", j: required, claims: `{"hd":"evil.com"}`,
			reason: decision.ClaimRuleFailed, msg: `required claim "hd" value does not match: got "evil.com", want "example.com"`},
		{name: "expression rule passes", j: rule(`claims.hd == "example.com"`, "wrong domain"), claims: `{"sub":"jane","hd":"example.com"}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "expression rule fails with its message", j: rule(`claims.hd == "example.com"`, "wrong domain"), claims: `{"sub":"jane","hd":"evil.com"}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims.hd == "example.com"' failed: wrong domain`},
		{name: "expression rule fails without a message", j: rule(`claims.hd == "example.com"`, ""), claims: `{"sub":"jane","hd":"evil.com"}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims.hd == "example.com"' failed`},
		{name: "expression rule on a missing claim is an error", j: rule(`claims.hd == "example.com"`, "wrong domain"), claims: `{"sub":"jane"}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims.hd == "example.com"': no such key: hd`},
		{name: "nested claims rule", j: rule(`claims.realm_access.roles.exists(r, r == "k8s")`, "no k8s role"),
			claims: `{"sub":"jane","realm_access":{"roles":["a","k8s"]}}`, want: authenticationv1.UserInfo{Username: "jane"}},
		{
			name: "claim and expression rules mixed",
			j: config.JWTAuthenticator{ClaimMappings: subUser(), ClaimValidationRules: []config.ClaimValidationRule{
				{Claim: "hd", RequiredValue: "example.com"},
				{Expression: `claims.?email_verified.orValue(false) == true`, Message: "email must be verified"},
			}},
			claims: `{"sub":"jane","hd":"example.com","email_verified":false}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims.?email_verified.orValue(false) == true' failed: email must be verified`,
		},
		{name: "exact audience set passes in any order", j: audience, claims: `{"sub":"jane","aud":["web","api"]}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "exact audience set refuses an extra audience", j: audience, claims: `{"sub":"jane","aud":["web","api","other"]}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'sets.equivalent(claims.aud, ["api", "web"])' failed: token must be for exactly api and web`},
		{name: "claim type string", j: rule(`claims.s == "x"`, "m"), claims: `{"sub":"jane","s":"x"}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "claim type bool", j: rule(`claims.b == true`, "m"), claims: `{"sub":"jane","b":true}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "claim type array of strings", j: rule(`claims.a.all(x, x.startsWith("p-"))`, "m"), claims: `{"sub":"jane","a":["p-1","p-2"]}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "claim type number compares across types", j: rule(`claims.n == 3`, "m"), claims: `{"sub":"jane","n":3}`,
			want: authenticationv1.UserInfo{Username: "jane"}},
		{name: "mismatched claim type is simply unequal", j: rule(`claims.s == 1`, "must be one"), claims: `{"sub":"jane","s":"1"}`,
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims.s == 1' failed: must be one`},
	})
}

func TestMapUserValidationRules(t *testing.T) {
	j := func(rules ...config.UserValidationRule) config.JWTAuthenticator {
		return config.JWTAuthenticator{
			ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("")},
				Groups:   config.PrefixedClaimOrExpression{Claim: "groups", Prefix: strPtr("")},
				Extra:    []config.ExtraMapping{{Key: "example.com/team", ValueExpression: `claims.?team.orValue("")`}},
			},
			UserValidationRules: rules,
		}
	}
	runMapCases(t, []mapCase{
		{
			name:   "fails on username",
			j:      j(config.UserValidationRule{Expression: `!user.username.startsWith("admin")`, Message: "admin users are not allowed"}),
			claims: `{"sub":"admin-jane"}`,
			reason: decision.UserRuleFailed, msg: `validation expression '!user.username.startsWith("admin")' failed: admin users are not allowed`,
		},
		{
			name:   "fails on groups",
			j:      j(config.UserValidationRule{Expression: `!("cluster-admins" in user.groups)`, Message: "no cluster admins"}),
			claims: `{"sub":"jane","groups":["dev","cluster-admins"]}`,
			reason: decision.UserRuleFailed, msg: `validation expression '!("cluster-admins" in user.groups)' failed: no cluster admins`,
		},
		{
			name: "passes with extra",
			j: j(
				config.UserValidationRule{Expression: `user.extra["example.com/team"] == ["blue"]`},
				config.UserValidationRule{Expression: `user.extra.example__dot__com__slash__team.size() == 1`},
				config.UserValidationRule{Expression: `user.uid == "" && user.groups.size() == 1`},
			),
			claims: `{"sub":"jane","groups":"dev","team":"blue"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"dev"}, Extra: extraMap{"example.com/team": {"blue"}}},
		},
		{
			name: "passes with an otherwise empty user",
			j: j(
				config.UserValidationRule{Expression: `user.username == "" && user.uid == "" && user.groups == [] && user.extra == {}`},
			),
			claims: `{"sub":""}`,
			want:   authenticationv1.UserInfo{},
		},
		{
			name:   "a rule on a missing extra key is an error",
			j:      j(config.UserValidationRule{Expression: `user.extra["example.com/team"] == ["blue"]`}),
			claims: `{"sub":"jane"}`,
			reason: decision.UserRuleFailed, msg: `validation expression 'user.extra["example.com/team"] == ["blue"]': no such key: example.com/team`,
		},
		{
			name:   "user rules run after the reserved-name guard",
			j:      j(config.UserValidationRule{Expression: `false`, Message: "never"}),
			claims: `{"sub":"system:anonymous"}`,
			reason: decision.ReservedName, msg: `username "system:anonymous" is reserved (starts with "system:")`,
		},
	})
}

func TestMapCostLimit(t *testing.T) {
	// Four million steps: far over the 1,000,000 per-call limit. The test
	// finishing (quickly) is part of the assertion.
	huge := `lists.range(2000).all(x, lists.range(2000).all(y, x + y >= 0))`
	runMapCases(t, []mapCase{
		{
			name:   "claim rule",
			j:      config.JWTAuthenticator{ClaimMappings: subUser(), ClaimValidationRules: []config.ClaimValidationRule{{Expression: huge}}},
			claims: `{"sub":"jane"}`,
			reason: decision.ClaimRuleFailed, msg: "validation expression '" + huge + "': operation cancelled: actual cost limit exceeded",
		},
		{
			name:   "username expression",
			j:      config.JWTAuthenticator{ClaimMappings: exprMappings(huge+` ? "a" : "b"`, "", "")},
			claims: `{"sub":"jane"}`,
			reason: decision.MappingFailed, msg: "username expression: operation cancelled: actual cost limit exceeded",
		},
		{
			name:   "user rule",
			j:      config.JWTAuthenticator{ClaimMappings: subUser(), UserValidationRules: []config.UserValidationRule{{Expression: `user.username.size() > 0 && ` + huge}}},
			claims: `{"sub":"jane"}`,
			reason: decision.UserRuleFailed, msg: "validation expression 'user.username.size() > 0 && " + huge + "': operation cancelled: actual cost limit exceeded",
		},
	})
}

// TestMapCostLimitCountsStringSize: string functions are charged by the
// size of what they scan and build, so a rule that blows a claim up
// quadratically (a 4,000-character claim replaced into itself: 16M
// characters, then 32M) is cancelled instead of allocating gigabytes.
func TestMapCostLimitCountsStringSize(t *testing.T) {
	blowUp := `claims.s.replace('a', claims.s).replace('a', 'bb').size() > 0`
	runMapCases(t, []mapCase{{
		name:   "replace into itself",
		j:      config.JWTAuthenticator{ClaimMappings: subUser(), ClaimValidationRules: []config.ClaimValidationRule{{Expression: blowUp}}},
		claims: `{"sub":"jane","s":"` + strings.Repeat("a", 4000) + `"}`,
		reason: decision.ClaimRuleFailed, msg: "validation expression '" + blowUp + "': operation cancelled: actual cost limit exceeded",
	}})
}

// A rule's type is checked at Compile (see TestCompileErrors); the run-time
// check still refuses a non-bool from a program that escaped it.
func TestCheckRuleRefusesNonBool(t *testing.T) {
	e, err := envs()
	if err != nil {
		t.Fatal(err)
	}
	c := &compiler{env: e, m: &Mapper{}}
	p, _ := c.compile(e.claims, "claims.b", nil, false)
	if p == nil {
		t.Fatalf("compile: %v", c.errs)
	}
	got := checkRule(p, newClaimsActivation(map[string]any{"b": "yes"}), "m", decision.ClaimRuleFailed)
	if got == nil || got.Reason != decision.ClaimRuleFailed || got.Message != "validation expression 'claims.b' must return a boolean" {
		t.Fatalf("checkRule = %v", got)
	}
}

package claims

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

func presetIssuer(prefix string, namespaces []string, names ...string) config.JWTAuthenticator {
	return config.JWTAuthenticator{KubernetesServiceAccount: &config.ServiceAccountPreset{
		Prefix: strPtr(prefix), Namespaces: namespaces, ServiceAccountNames: names,
	}}
}

// saToken builds a service-account payload; bound is the JSON of the
// pod/node/secret members of the kubernetes.io claim.
func saToken(ns, name, sub, bound, jti string) string {
	if sub == "" {
		sub = "system:serviceaccount:" + ns + ":" + name
	}
	k := `"namespace":"` + ns + `","serviceaccount":{"name":"` + name + `","uid":"sa-uid-1"}`
	if bound != "" {
		k += "," + bound
	}
	p := `{"iss":"https://cluster-b.example","aud":["https://kubernetes.default.svc"],"exp":1790000000,"iat":1789996400,"nbf":1789996400,"sub":"` + sub + `","kubernetes.io":{` + k + `}`
	if jti != "" {
		p += `,"jti":"` + jti + `"`
	}
	return p + "}"
}

const (
	podAndNode = `"pod":{"name":"web-0","uid":"pod-uid-1"},"node":{"name":"node-a","uid":"node-uid-1"}`
	secretOnly = `"secret":{"name":"builder-token","uid":"secret-uid-1"}`
)

func TestMapServiceAccountPreset(t *testing.T) {
	all := []string{"*"}
	withRules := presetIssuer("cluster-b:", all)
	withRules.ClaimMappings.Extra = []config.ExtraMapping{{Key: "example.com/cluster", ValueExpression: `"cluster-b"`}}
	withRules.ClaimValidationRules = []config.ClaimValidationRule{{Expression: `claims["kubernetes.io"].namespace != "blocked"`, Message: "blocked namespace"}}
	withRules.UserValidationRules = []config.UserValidationRule{{Expression: `user.uid != "sa-uid-1"`, Message: "that service account is revoked"}}
	withExtraOnly := presetIssuer("cluster-b:", all)
	withExtraOnly.ClaimMappings.Extra = withRules.ClaimMappings.Extra
	allowReserved := presetIssuer("", all)
	allowReserved.AllowReservedNames = true

	runMapCases(t, []mapCase{
		{
			name: "pod and node bound, prefix", j: presetIssuer("cluster-b:", all),
			claims: saPayload,
			want: authenticationv1.UserInfo{
				Username: "cluster-b:system:serviceaccount:team-a:builder",
				UID:      "c1d2e3f4-sa",
				Groups:   []string{"cluster-b:system:serviceaccounts", "cluster-b:system:serviceaccounts:team-a"},
				Extra: extraMap{
					podNameKey:      {"builder-7d9f8"},
					podUIDKey:       {"5e1b7c44-pod"},
					nodeNameKey:     {"ip-10-0-1-7.ec2.internal"},
					nodeUIDKey:      {"0f6c5b2e-node"},
					credentialIDKey: {"JTI=8b3a2d6e-5c0b-4a6f-9c3e-0c7d2c1b9a10"},
				},
			},
		},
		{
			name: "secret bound, no jti", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "", secretOnly, ""),
			want: authenticationv1.UserInfo{
				Username: "b:system:serviceaccount:default:builder", UID: "sa-uid-1",
				Groups: []string{"b:system:serviceaccounts", "b:system:serviceaccounts:default"},
			},
		},
		{
			name: "pod without uid and node without uid", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "", `"pod":{"name":"web-0"},"node":{"name":"node-a"}`, "j-1"),
			want: authenticationv1.UserInfo{
				Username: "b:system:serviceaccount:default:builder", UID: "sa-uid-1",
				Groups: []string{"b:system:serviceaccounts", "b:system:serviceaccounts:default"},
				Extra:  extraMap{nodeNameKey: {"node-a"}, credentialIDKey: {"JTI=j-1"}},
			},
		},
		{
			name: "node uid without node name is dropped", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "", `"node":{"uid":"node-uid-1"}`, ""),
			want: authenticationv1.UserInfo{
				Username: "b:system:serviceaccount:default:builder", UID: "sa-uid-1",
				Groups: []string{"b:system:serviceaccounts", "b:system:serviceaccounts:default"},
			},
		},
		{
			name: "no prefix with reserved names allowed is exactly kube's user", j: allowReserved,
			claims: saToken("default", "builder", "", podAndNode, "j-1"),
			want: authenticationv1.UserInfo{
				Username: "system:serviceaccount:default:builder", UID: "sa-uid-1",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default"},
				Extra: extraMap{podNameKey: {"web-0"}, podUIDKey: {"pod-uid-1"}, nodeNameKey: {"node-a"},
					nodeUIDKey: {"node-uid-1"}, credentialIDKey: {"JTI=j-1"}},
			},
		},
		{
			name: "no prefix without reserved names is refused", j: presetIssuer("", all),
			claims: saToken("default", "builder", "", "", ""),
			reason: decision.ReservedName, msg: `username "system:serviceaccount:default:builder" is reserved (starts with "system:")`,
		},
		{
			name: "extra mappings on top of the preset", j: withExtraOnly,
			claims: saToken("default", "builder", "", secretOnly, "j-2"),
			want: authenticationv1.UserInfo{
				Username: "cluster-b:system:serviceaccount:default:builder", UID: "sa-uid-1",
				Groups: []string{"cluster-b:system:serviceaccounts", "cluster-b:system:serviceaccounts:default"},
				Extra:  extraMap{credentialIDKey: {"JTI=j-2"}, "example.com/cluster": {"cluster-b"}},
			},
		},
		{
			name: "claim rules on top of the preset", j: withRules,
			claims: saToken("blocked", "builder", "", "", ""),
			reason: decision.ClaimRuleFailed, msg: `validation expression 'claims["kubernetes.io"].namespace != "blocked"' failed: blocked namespace`,
		},
		{
			name: "user rules on top of the preset", j: withRules,
			claims: saToken("default", "builder", "", "", ""),
			reason: decision.UserRuleFailed, msg: `validation expression 'user.uid != "sa-uid-1"' failed: that service account is revoked`,
		},
		{
			name: "sub mismatch", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "system:serviceaccount:kube-system:builder", "", ""),
			reason: decision.MappingFailed, msg: "sub does not match system:serviceaccount:default:builder from the kubernetes.io claim",
		},
		{
			name: "sub missing", j: presetIssuer("b:", all),
			claims: `{"kubernetes.io":{"namespace":"default","serviceaccount":{"name":"builder","uid":"u"}}}`,
			reason: decision.MappingFailed, msg: "sub does not match system:serviceaccount:default:builder from the kubernetes.io claim",
		},
		{
			name: "sub with a longer name", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "system:serviceaccount:default:builder2", "", ""),
			reason: decision.MappingFailed, msg: "sub does not match system:serviceaccount:default:builder from the kubernetes.io claim",
		},
		{
			name: "no kubernetes.io claim", j: presetIssuer("b:", all),
			claims: `{"sub":"system:serviceaccount:default:builder"}`,
			reason: decision.MappingFailed, msg: "the kubernetes.io claim is missing or not an object",
		},
		{
			name: "empty namespace", j: presetIssuer("b:", all),
			claims: saToken("", "builder", "", "", ""),
			reason: decision.MappingFailed, msg: "kubernetes.io.namespace is missing or not a non-empty string",
		},
		{
			name: "empty service account name", j: presetIssuer("b:", all),
			claims: saToken("default", "", "", "", ""),
			reason: decision.MappingFailed, msg: "kubernetes.io.serviceaccount.name is missing or not a non-empty string",
		},
		{
			name: "no serviceaccount member", j: presetIssuer("b:", all),
			claims: `{"sub":"system:serviceaccount:default:builder","kubernetes.io":{"namespace":"default"}}`,
			reason: decision.MappingFailed, msg: "kubernetes.io.serviceaccount.name is missing or not a non-empty string",
		},
		{
			name: "service account uid missing", j: presetIssuer("b:", all),
			claims: `{"sub":"system:serviceaccount:default:builder","kubernetes.io":{"namespace":"default","serviceaccount":{"name":"builder"}}}`,
			reason: decision.MappingFailed, msg: "kubernetes.io.serviceaccount.uid is missing or not a non-empty string",
		},
		{
			name: "pod not an object", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "", `"pod":"web-0"`, ""),
			reason: decision.MappingFailed, msg: "kubernetes.io.pod is not an object",
		},
		{
			name: "node name not a string", j: presetIssuer("b:", all),
			claims: saToken("default", "builder", "", `"node":{"name":7}`, ""),
			reason: decision.MappingFailed, msg: "kubernetes.io.node.name is not a string",
		},
	})
}

func TestMapServiceAccountAllowLists(t *testing.T) {
	user := func(ns, name string) authenticationv1.UserInfo {
		return authenticationv1.UserInfo{
			Username: "b:system:serviceaccount:" + ns + ":" + name, UID: "sa-uid-1",
			Groups: []string{"b:system:serviceaccounts", "b:system:serviceaccounts:" + ns},
		}
	}
	exact := presetIssuer("b:", []string{"team-a", "team-b"})
	prefix := presetIssuer("b:", []string{"team-*"})
	names := presetIssuer("b:", []string{"*"}, "builder", "deploy-*")
	runMapCases(t, []mapCase{
		{name: "exact namespace allowed", j: exact, claims: saToken("team-b", "x", "", "", ""), want: user("team-b", "x")},
		{name: "exact namespace refused", j: exact, claims: saToken("kube-system", "x", "", "", ""),
			reason: decision.ClaimRuleFailed, msg: `service account namespace "kube-system" is not allowed`},
		{name: "exact namespace is not a prefix", j: exact, claims: saToken("team-a2", "x", "", "", ""),
			reason: decision.ClaimRuleFailed, msg: `service account namespace "team-a2" is not allowed`},
		{name: "prefix wildcard allowed", j: prefix, claims: saToken("team-zeta", "x", "", "", ""), want: user("team-zeta", "x")},
		{name: "prefix wildcard refused", j: prefix, claims: saToken("tea", "x", "", "", ""),
			reason: decision.ClaimRuleFailed, msg: `service account namespace "tea" is not allowed`},
		{name: "any namespace", j: names, claims: saToken("anything", "builder", "", "", ""), want: user("anything", "builder")},
		{name: "name exact allowed", j: names, claims: saToken("ns", "builder", "", "", ""), want: user("ns", "builder")},
		{name: "name prefix allowed", j: names, claims: saToken("ns", "deploy-prod", "", "", ""), want: user("ns", "deploy-prod")},
		{name: "name refused", j: names, claims: saToken("ns", "default", "", "", ""),
			reason: decision.ClaimRuleFailed, msg: `service account "default" in namespace "ns" is not allowed`},
	})
}

func TestIsServiceAccountName(t *testing.T) {
	for _, tc := range []struct {
		sub, ns, name string
		want          bool
	}{
		{"system:serviceaccount:a:b", "a", "b", true},
		{"system:serviceaccount:a:bc", "a", "b", false},
		{"system:serviceaccount:ab:c", "a", "b:c", false},
		{"system:serviceaccount:a:b:c", "a:b", "c", true},
		{"system:serviceaccounts:a:b", "a", "b", false},
		{"", "a", "b", false},
	} {
		if got := isServiceAccountName(tc.sub, tc.ns, tc.name); got != tc.want {
			t.Errorf("isServiceAccountName(%q, %q, %q) = %v", tc.sub, tc.ns, tc.name, got)
		}
	}
}

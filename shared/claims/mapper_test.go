package claims

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

func claimMappings(user, userPrefix, groups, groupsPrefix string) config.ClaimMappings {
	cm := config.ClaimMappings{Username: config.PrefixedClaimOrExpression{Claim: user, Prefix: strPtr(userPrefix)}}
	if groups != "" {
		cm.Groups = config.PrefixedClaimOrExpression{Claim: groups, Prefix: strPtr(groupsPrefix)}
	}
	return cm
}

func TestMapClaims(t *testing.T) {
	emailUser := config.JWTAuthenticator{ClaimMappings: claimMappings("email", "", "", "")}
	groups := config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "", "groups", "")}
	runMapCases(t, []mapCase{
		{
			name: "username, groups and uid claims with prefixes",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("oidc:")},
				Groups:   config.PrefixedClaimOrExpression{Claim: "groups", Prefix: strPtr("oidc:")},
				UID:      config.ClaimOrExpression{Claim: "uid"},
			}},
			claims: `{"sub":"jane","groups":["team-a","team-b"],"uid":"1234"}`,
			want:   authenticationv1.UserInfo{Username: "oidc:jane", UID: "1234", Groups: []string{"oidc:team-a", "oidc:team-b"}},
		},
		{
			name:   "minimal: username claim only",
			j:      config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"iss":"https://issuer","aud":"a","exp":1,"sub":"jane"}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "missing username claim", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"name":"jane"}`,
			reason: decision.MappingFailed, msg: `username claim "sub" is not present`,
		},
		{
			name: "username claim not a string", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":42}`,
			reason: decision.MappingFailed, msg: `username claim "sub" is not a string`,
		},
		{
			name: "empty username is allowed via claim", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":""}`,
			want:   authenticationv1.UserInfo{Username: ""},
		},
		{
			name:   "empty username via claim still gets the prefix",
			j:      config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "oidc:", "", "")},
			claims: `{"sub":""}`,
			want:   authenticationv1.UserInfo{Username: "oidc:"},
		},
		{
			name: "email verified true", j: emailUser,
			claims: `{"email":"jane@example.com","email_verified":true}`,
			want:   authenticationv1.UserInfo{Username: "jane@example.com"},
		},
		{
			name: "email verified false", j: emailUser,
			claims: `{"email":"jane@example.com","email_verified":false}`,
			reason: decision.MappingFailed, msg: "email not verified",
		},
		{
			name: "email verified absent", j: emailUser,
			claims: `{"email":"jane@example.com"}`,
			want:   authenticationv1.UserInfo{Username: "jane@example.com"},
		},
		{
			name: "email verified not a bool", j: emailUser,
			claims: `{"email":"jane@example.com","email_verified":"true"}`,
			reason: decision.MappingFailed, msg: "email_verified claim is not a boolean",
		},
		{
			name:   "email_verified is only checked for the email claim",
			j:      config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":"jane","email_verified":false}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "groups claim array", j: groups,
			claims: `{"sub":"jane","groups":["a","b"]}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"a", "b"}},
		},
		{
			name: "groups claim string", j: groups,
			claims: `{"sub":"jane","groups":"a"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"a"}},
		},
		{
			name: "groups claim absent", j: groups,
			claims: `{"sub":"jane"}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "groups claim null", j: groups,
			claims: `{"sub":"jane","groups":null}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "groups claim number", j: groups,
			claims: `{"sub":"jane","groups":42}`,
			reason: decision.MappingFailed, msg: `groups claim "groups" must be a string or an array of strings`,
		},
		{
			name: "groups claim array with a non-string", j: groups,
			claims: `{"sub":"jane","groups":["a",1]}`,
			reason: decision.MappingFailed, msg: `groups claim "groups" must be a string or an array of strings`,
		},
		{
			name: "groups claim empty values are absent", j: groups,
			claims: `{"sub":"jane","groups":["","a",""]}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"a"}},
		},
		{
			name:   "groups prefix on a string claim",
			j:      config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "", "role", "idp:")},
			claims: `{"sub":"jane","role":"admin"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Groups: []string{"idp:admin"}},
		},
		{
			name: "uid claim missing",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("")},
				UID:      config.ClaimOrExpression{Claim: "oid"},
			}},
			claims: `{"sub":"jane"}`,
			reason: decision.MappingFailed, msg: `uid claim "oid" is not present`,
		},
		{
			name: "uid claim not a string",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("")},
				UID:      config.ClaimOrExpression{Claim: "oid"},
			}},
			claims: `{"sub":"jane","oid":7}`,
			reason: decision.MappingFailed, msg: `uid claim "oid" is not a string`,
		},
	})
}

func TestMapCredentialID(t *testing.T) {
	withExtra := config.JWTAuthenticator{ClaimMappings: subUser()}
	withExtra.ClaimMappings.Extra = []config.ExtraMapping{{Key: "example.com/org", ValueExpression: "claims.org"}}
	revocation := config.JWTAuthenticator{ClaimMappings: subUser(), UserValidationRules: []config.UserValidationRule{{
		Expression: `!('authentication.kubernetes.io/credential-id' in user.extra && user.extra['authentication.kubernetes.io/credential-id'] == ['JTI=revoked-1'])`,
		Message:    "credential revoked",
	}}}
	runMapCases(t, []mapCase{
		{
			name: "string jti", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":"jane","jti":"1234"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Extra: extraMap{credentialIDKey: {"JTI=1234"}}},
		},
		{
			name: "string jti with extra mappings", j: withExtra,
			claims: `{"sub":"jane","jti":"1234","org":"acme"}`,
			want: authenticationv1.UserInfo{Username: "jane", Extra: extraMap{
				credentialIDKey: {"JTI=1234"}, "example.com/org": {"acme"},
			}},
		},
		{
			name: "non-string jti is ignored", j: withExtra,
			claims: `{"sub":"jane","jti":1234,"org":"acme"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Extra: extraMap{"example.com/org": {"acme"}}},
		},
		{
			name: "missing jti", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":"jane"}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "empty jti is ignored", j: config.JWTAuthenticator{ClaimMappings: subUser()},
			claims: `{"sub":"jane","jti":""}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
		{
			name: "revocation by credential-id: revoked", j: revocation,
			claims: `{"sub":"jane","jti":"revoked-1"}`,
			reason: decision.UserRuleFailed,
			msg:    `validation expression '!('authentication.kubernetes.io/credential-id' in user.extra && user.extra['authentication.kubernetes.io/credential-id'] == ['JTI=revoked-1'])' failed: credential revoked`,
		},
		{
			name: "revocation by credential-id: other jti", j: revocation,
			claims: `{"sub":"jane","jti":"ok-2"}`,
			want:   authenticationv1.UserInfo{Username: "jane", Extra: extraMap{credentialIDKey: {"JTI=ok-2"}}},
		},
		{
			name: "revocation by credential-id: no jti", j: revocation,
			claims: `{"sub":"jane"}`,
			want:   authenticationv1.UserInfo{Username: "jane"},
		},
	})
}

func TestMapReservedNames(t *testing.T) {
	allow := config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "", "groups", ""), AllowReservedNames: true}
	runMapCases(t, []mapCase{
		{
			name: "system: username refused", j: config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "", "groups", "")},
			claims: `{"sub":"system:admin"}`,
			reason: decision.ReservedName, msg: `username "system:admin" is reserved (starts with "system:")`,
		},
		{
			name: "system: group refused", j: config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "", "groups", "")},
			claims: `{"sub":"jane","groups":["dev","system:masters"]}`,
			reason: decision.ReservedName, msg: `group "system:masters" is reserved (starts with "system:")`,
		},
		{
			name: "system: group from CEL refused",
			j: config.JWTAuthenticator{ClaimMappings: config.ClaimMappings{
				Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("")},
				Groups:   config.PrefixedClaimOrExpression{Expression: `["system:nodes"]`},
			}},
			claims: `{"sub":"jane"}`,
			reason: decision.ReservedName, msg: `group "system:nodes" is reserved (starts with "system:")`,
		},
		{
			name: "allowed when the issuer allows reserved names", j: allow,
			claims: `{"sub":"system:admin","groups":["system:masters"]}`,
			want:   authenticationv1.UserInfo{Username: "system:admin", Groups: []string{"system:masters"}},
		},
		{
			name:   "a prefix keeps names out of the reserved space",
			j:      config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "cluster-b:", "groups", "cluster-b:")},
			claims: `{"sub":"system:admin","groups":["system:masters"]}`,
			want:   authenticationv1.UserInfo{Username: "cluster-b:system:admin", Groups: []string{"cluster-b:system:masters"}},
		},
	})
}

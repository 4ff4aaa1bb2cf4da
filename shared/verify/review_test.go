package verify

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

const credentialIDKey = "authentication.kubernetes.io/credential-id"

// reviewCase is one token and the exact expected result.
type reviewCase struct {
	name      string
	token     string
	audiences []string // request audiences
	outcome   decision.Outcome
	reason    decision.Reason
	user      *authenticationv1.UserInfo // exact, when authenticated
	accepted  []string                   // exact accepted audiences, when authenticated
}

func runCases(t *testing.T, a *Authenticator, cases []reviewCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := a.Review(context.Background(), tc.token, tc.audiences)
			want := tc.outcome
			if want == decision.Unset { // a case without outcome expects a user
				want = decision.Authenticated
			}
			wantOutcome(t, got, want, tc.reason)
			if want != decision.Authenticated {
				if got.User.Username != "" || got.Audiences != nil {
					t.Fatalf("denial carries a user or audiences: %+v", got)
				}
				return
			}
			if tc.user == nil || !reflect.DeepEqual(got.User, *tc.user) {
				t.Fatalf("user = %#v, want %#v", got.User, tc.user)
			}
			if !reflect.DeepEqual(got.Audiences, tc.accepted) {
				t.Fatalf("audiences = %q, want %q", got.Audiences, tc.accepted)
			}
		})
	}
}

func user(name string, groups []string, uid string, extra map[string]authenticationv1.ExtraValue) *authenticationv1.UserInfo {
	return &authenticationv1.UserInfo{Username: name, Groups: groups, UID: uid, Extra: extra}
}

// TestReviewKubeThemes follows the themes of kube-apiserver's oidc_test.go
// TestToken, against a real TLS issuer found through discovery.
func TestReviewKubeThemes(t *testing.T) {
	rs := testissuer.NewKey("RS256")
	ps := testissuer.NewKey("PS256")
	es512 := testissuer.NewKey("ES512")
	ed := testissuer.NewKey("EdDSA")
	unpublished := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, rs, ps, es512, ed)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"kubernetes"}, obj{
		"claimMappings": obj{
			"username": obj{"claim": "sub", "prefix": "test:"},
			"groups":   obj{"claim": "groups", "prefix": "g:"},
		},
	}))
	alice := user("test:alice", nil, "", nil)
	now := time.Now()

	runCases(t, a, []reviewCase{
		{name: "valid token", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", nil)),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "minimal token: iss, aud, exp, username claim",
			token: srv.Token(rs, obj{"iss": iss, "aud": "kubernetes", "exp": now.Add(time.Minute).Unix(), "sub": "alice"}),
			user:  alice, accepted: []string{"kubernetes"}},
		{name: "missing username claim", token: srv.Token(rs, claimsWith(iss, "kubernetes", "", nil)),
			outcome: decision.Denied, reason: decision.MappingFailed},
		{name: "expired", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"exp": now.Add(-time.Hour).Unix()})),
			outcome: decision.Denied, reason: decision.Expired},
		{name: "expired within leeway is accepted", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"exp": now.Add(-10 * time.Second).Unix()})),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "not yet valid", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"nbf": now.Add(5 * time.Minute).Unix()})),
			outcome: decision.Denied, reason: decision.NotYetValid},
		{name: "issued in the future", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"iat": now.Add(5 * time.Minute).Unix()})),
			outcome: decision.Denied, reason: decision.IssuedInFuture},
		{name: "no exp", token: srv.Token(rs, obj{"iss": iss, "aud": "kubernetes", "sub": "alice"}),
			outcome: decision.Denied, reason: decision.Malformed},
		{name: "wrong aud", token: srv.Token(rs, claimsWith(iss, "not-kubernetes", "alice", nil)),
			outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "no aud", token: srv.Token(rs, claimsWith(iss, nil, "alice", nil)),
			outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "several token audiences", token: srv.Token(rs, claimsWith(iss, []string{"other", "kubernetes", "more"}, "alice", nil)),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "request audiences include ours", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", nil)),
			audiences: []string{"x", "kubernetes"}, user: alice, accepted: []string{"kubernetes"}},
		{name: "request audiences exclude ours", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", nil)),
			audiences: []string{"x"}, outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "PS256 allowed", token: srv.Token(ps, claimsWith(iss, "kubernetes", "alice", nil)),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "ES512 allowed", token: srv.Token(es512, claimsWith(iss, "kubernetes", "alice", nil)),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "EdDSA allowed", token: srv.Token(ed, claimsWith(iss, "kubernetes", "alice", nil)),
			user: alice, accepted: []string{"kubernetes"}},
		{name: "issuer mismatch", token: srv.Token(rs, claimsWith("https://elsewhere.example.com", "kubernetes", "alice", nil)),
			outcome: decision.Denied, reason: decision.UnknownIssuer},
		{name: "issuer with trailing slash is another issuer", token: srv.Token(rs, claimsWith(iss+"/", "kubernetes", "alice", nil)),
			outcome: decision.Denied, reason: decision.UnknownIssuer},
		{name: "no key for the kid", token: srv.Token(unpublished, claimsWith(iss, "kubernetes", "alice", nil)),
			outcome: decision.Denied, reason: decision.UnknownKey},
		{name: "invalid signature: published kid, other key", token: srv.Token(unpublished.WithKid(rs.Kid), claimsWith(iss, "kubernetes", "alice", nil)),
			outcome: decision.Denied, reason: decision.BadSignature},
		{name: "groups array", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"groups": []string{"dev", "ops"}})),
			user: user("test:alice", []string{"g:dev", "g:ops"}, "", nil), accepted: []string{"kubernetes"}},
		{name: "groups string", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"groups": "dev"})),
			user: user("test:alice", []string{"g:dev"}, "", nil), accepted: []string{"kubernetes"}},
		{name: "groups of the wrong type", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"groups": 7})),
			outcome: decision.Denied, reason: decision.MappingFailed},
		{name: "credential-id from jti", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"jti": "8c6f-42"})),
			user:     user("test:alice", nil, "", map[string]authenticationv1.ExtraValue{credentialIDKey: {"JTI=8c6f-42"}}),
			accepted: []string{"kubernetes"}},
		{name: "non-string jti is ignored", token: srv.Token(rs, claimsWith(iss, "kubernetes", "alice", obj{"jti": 42})),
			user: alice, accepted: []string{"kubernetes"}},
	})
}

// TestReviewConfiguredAudiences: several configured audiences (MatchAny),
// with and without request audiences; accepted audiences follow the
// configuration's order whatever the token's.
func TestReviewConfiguredAudiences(t *testing.T) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"a", "b", "c"}, nil))
	alice := user("test:alice", nil, "", nil)
	tok := func(aud any) string { return srv.Token(k, claimsWith(iss, aud, "alice", nil)) }
	runCases(t, a, []reviewCase{
		{name: "one match", token: tok([]string{"x", "b"}), user: alice, accepted: []string{"b"}},
		{name: "several matches, configuration order", token: tok([]string{"c", "x", "a"}), user: alice, accepted: []string{"a", "c"}},
		{name: "duplicates in the token", token: tok([]string{"c", "c"}), user: alice, accepted: []string{"c"}},
		{name: "no match", token: tok([]string{"x", "y"}), outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "empty array", token: tok([]string{}), outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "request narrows", token: tok([]string{"a", "b", "c"}), audiences: []string{"c", "b"}, user: alice, accepted: []string{"b", "c"}},
		{name: "request disjoint from token∩issuer", token: tok([]string{"a"}), audiences: []string{"b"},
			outcome: decision.Denied, reason: decision.AudienceMismatch},
		{name: "request names a token audience the issuer lacks", token: tok([]string{"x"}), audiences: []string{"x"},
			outcome: decision.Denied, reason: decision.AudienceMismatch},
	})
}

// TestReviewClaimsThemes runs email, claim rules and CEL mappings through
// the real claims package.
func TestReviewClaimsThemes(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, obj{
		"claimValidationRules": []obj{{"claim": "hd", "requiredValue": "example.com"}},
		"claimMappings": obj{
			"username": obj{"claim": "email", "prefix": ""},
			"groups":   obj{"expression": `claims.roles.map(r, "role:" + r)`},
			"uid":      obj{"claim": "sub"},
		},
		"userValidationRules": []obj{{"expression": `!user.username.startsWith("bad")`, "message": "no bad users"}},
	}))
	tok := func(extra obj) string {
		c := claimsWith(iss, "k8s", "u-1", obj{"hd": "example.com", "email": "jane@example.com", "roles": []string{"admin"}})
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return srv.Token(k, c)
	}
	jane := user("jane@example.com", []string{"role:admin"}, "u-1", nil)
	runCases(t, a, []reviewCase{
		{name: "email verified", token: tok(obj{"email_verified": true}), user: jane, accepted: []string{"k8s"}},
		{name: "email_verified absent", token: tok(nil), user: jane, accepted: []string{"k8s"}},
		{name: "email not verified", token: tok(obj{"email_verified": false}), outcome: decision.Denied, reason: decision.MappingFailed},
		{name: "email_verified not a bool", token: tok(obj{"email_verified": "true"}), outcome: decision.Denied, reason: decision.MappingFailed},
		{name: "required claim missing", token: tok(obj{"hd": nil}), outcome: decision.Denied, reason: decision.ClaimRuleFailed},
		{name: "required claim wrong", token: tok(obj{"hd": "evil.com"}), outcome: decision.Denied, reason: decision.ClaimRuleFailed},
		{name: "user rule fails", token: tok(obj{"email": "bad@example.com"}), outcome: decision.Denied, reason: decision.UserRuleFailed},
		{name: "reserved username", token: tok(obj{"email": "system:admin"}), outcome: decision.Denied, reason: decision.ReservedName},
	})
}

// TestReviewDiscoveryVariants: issuers with paths and trailing slashes,
// discovered through an explicit discoveryURL on a real TLS server.
func TestReviewDiscoveryVariants(t *testing.T) {
	for _, tc := range []struct{ name, issuerPath string }{
		{"issuer with a path", "/realms/platform"},
		{"issuer with a trailing slash", "/"},
		{"issuer with a path and a trailing slash", "/tenant/a/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testissuer.NewKey("ES384")
			srv := testissuer.Start(t, k)
			iss := srv.URL() + tc.issuerPath
			srv.SetDiscovery(iss, "")
			entry := issuerFor(srv, []string{"k8s"}, nil)
			entry["issuer"].(obj)["url"] = iss
			entry["issuer"].(obj)["discoveryURL"] = srv.DiscoveryURL()
			a := newAuthenticator(t, nil, entry)
			if ok, notReady := a.Ready(); !ok {
				t.Fatalf("not ready: %q", notReady)
			}
			runCases(t, a, []reviewCase{
				{name: "exact iss", token: srv.Token(k, claimsWith(iss, "k8s", "alice", nil)),
					user: user("test:alice", nil, "", nil), accepted: []string{"k8s"}},
				{name: "iss without the path", token: srv.Token(k, claimsWith(srv.URL(), "k8s", "alice", nil)),
					outcome: decision.Denied, reason: decision.UnknownIssuer},
			})
		})
	}
}

// TestReviewLifetimeAndLeeway covers the extension settings clockSkew and
// maxTokenLifetime.
func TestReviewLifetimeAndLeeway(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, obj{"clockSkew": "0s", "maxTokenLifetime": "1h"}))
	now := time.Now()
	alice := user("test:alice", nil, "", nil)
	runCases(t, a, []reviewCase{
		{name: "within lifetime", token: srv.Token(k, claimsWith(iss, "k8s", "alice", obj{"exp": now.Add(59 * time.Minute).Unix()})),
			user: alice, accepted: []string{"k8s"}},
		{name: "lifetime too long", token: srv.Token(k, claimsWith(iss, "k8s", "alice", obj{"exp": now.Add(2 * time.Hour).Unix()})),
			outcome: decision.Denied, reason: decision.LifetimeTooLong},
		{name: "no iat with a lifetime limit", token: srv.Token(k, obj{"iss": iss, "aud": "k8s", "sub": "alice", "exp": now.Add(time.Minute).Unix()}),
			outcome: decision.Denied, reason: decision.LifetimeTooLong},
		{name: "no leeway: just expired", token: srv.Token(k, claimsWith(iss, "k8s", "alice", obj{"exp": now.Add(-2 * time.Second).Unix()})),
			outcome: decision.Denied, reason: decision.Expired},
	})
}

// unixString must render far dates exactly: a time.Duration overflows
// beyond about 292 years from 1970.
func TestUnixStringFarDates(t *testing.T) {
	for sec, want := range map[float64]string{
		0:            "1970-01-01T00:00:00Z",
		4102444800:   "2100-01-01T00:00:00Z",
		253402300799: "9999-12-31T23:59:59Z",
		-1.5:         "1969-12-31T23:59:58Z",
		253402300800: "an out-of-range time",
	} {
		if got := unixString(sec); got != want {
			t.Errorf("unixString(%v) = %q, want %q", sec, got, want)
		}
	}
}

// TestDistributedClaimsNeverFetched: kube-apiserver resolves a distributed
// groups claim (_claim_names/_claim_sources) with a GET to the source's
// endpoint. This webhook verifies offline and never does: an absent groups
// claim means no groups, whatever the token points at, and the endpoint is
// never contacted (it would be a request to a URL the token chose).
func TestDistributedClaimsNeverFetched(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	source := testissuer.Start(t, k) // counts every request it gets
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, obj{
		"claimMappings": obj{
			"username": obj{"claim": "sub", "prefix": "oidc:"},
			"groups":   obj{"claim": "groups", "prefix": "oidc:"},
		},
	}))
	tok := srv.Token(k, claimsWith(srv.URL(), "k8s", "jane", obj{
		"_claim_names":   obj{"groups": "src1"},
		"_claim_sources": obj{"src1": obj{"endpoint": source.URL() + "/groups", "access_token": "opaque"}},
	}))
	runCases(t, a, []reviewCase{
		{name: "distributed groups ignored", token: tok, user: user("oidc:jane", nil, "", nil), accepted: []string{"k8s"}},
	})
	if n := source.Requests("/groups"); n != 0 {
		t.Fatalf("the distributed claim source was contacted %d times", n)
	}
}

// TestHeaderValuesClipped: an attacker-sized kid or alg does not reach the
// result (and so the log line) whole.
func TestHeaderValuesClipped(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, nil))
	long := strings.Repeat("é", 200) // 400 bytes
	tok := testissuer.Sign(k, obj{"alg": strings.Repeat("A", 100), "kid": long}, claimsWith(srv.URL(), "k8s", "alice", nil))
	got := a.Review(context.Background(), tok, nil)
	wantOutcome(t, got, decision.Denied, decision.AlgNotAllowed)
	if len(got.Algorithm) != 32 || len(got.KeyID) != 128 || got.KeyID != long[:128] {
		t.Fatalf("alg %d bytes, kid %d bytes", len(got.Algorithm), len(got.KeyID))
	}
}

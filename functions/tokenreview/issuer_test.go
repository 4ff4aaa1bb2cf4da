package main

import (
	"time"

	"github.com/tokenreview/webhook/shared/testissuer"
)

// testIssuer is a real OIDC issuer over TLS on 127.0.0.1 (the shared
// testissuer) with one RS256 key.
type testIssuer struct {
	*testissuer.Server
	key *testissuer.Key
}

func startIssuer(t testissuer.Cleanuper) *testIssuer {
	key := testissuer.NewKey("RS256").WithKid("test-rs256")
	return &testIssuer{Server: testissuer.Start(t, key), key: key}
}

// Token signs claims (iss defaults to URL()) with the issuer's key.
func (is *testIssuer) Token(claims map[string]any) string { return is.Server.Token(is.key, claims) }

// claimsFor returns iat and nbf now, exp now+ttl, and sub.
func claimsFor(sub string, ttl time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{"sub": sub, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix()}
}

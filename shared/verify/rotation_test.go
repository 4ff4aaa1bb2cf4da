package verify

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// TestRotationOrdering: a token whose kid is unknown causes a JWKS fetch
// only when every cheap check passed.
func TestRotationOrdering(t *testing.T) {
	k1 := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k1)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, obj{"algorithms": []string{"RS256", "ES256"}}))
	start := srv.Fetches()
	if start != 1 {
		t.Fatalf("prefetch made %d JWKS fetches, want 1", start)
	}

	// The issuer rotates to k2; the authenticator has not seen it yet.
	k2 := testissuer.NewKey("RS256")
	ps := testissuer.NewKey("PS256").WithKid("rotated-ps")
	srv.SetKeys(k1, k2, ps)
	now := time.Now()
	junk := []struct {
		name   string
		token  string
		reason decision.Reason
	}{
		{"wrong audience", srv.Token(k2, claimsWith(iss, "other", "alice", nil)), decision.AudienceMismatch},
		{"expired", srv.Token(k2, claimsWith(iss, "k8s", "alice", obj{"exp": now.Add(-time.Hour).Unix()})), decision.Expired},
		{"not yet valid", srv.Token(k2, claimsWith(iss, "k8s", "alice", obj{"nbf": now.Add(time.Hour).Unix()})), decision.NotYetValid},
		{"disallowed alg", srv.Token(ps, claimsWith(iss, "k8s", "alice", nil)), decision.AlgNotAllowed},
		{"unknown issuer", srv.Token(k2, claimsWith("https://other.example.com", "k8s", "alice", nil)), decision.UnknownIssuer},
		{"malformed", srv.Token(k2, claimsWith(iss, "k8s", "alice", nil)) + ".x", decision.Malformed},
		{"exp a string", srv.Token(k2, claimsWith(iss, "k8s", "alice", obj{"exp": "soon"})), decision.Malformed},
	}
	for _, tc := range junk {
		got := a.Review(t.Context(), tc.token, nil)
		wantOutcome(t, got, decision.Denied, tc.reason)
		if n := srv.Fetches(); n != start {
			t.Fatalf("%s: %d JWKS fetches after it, want %d", tc.name, n, start)
		}
	}

	good := srv.Token(k2, claimsWith(iss, "k8s", "alice", nil))
	got := a.Review(t.Context(), good, nil)
	wantOutcome(t, got, decision.Authenticated, "")
	if got.KeyID != k2.Kid || got.User.Username != "test:alice" {
		t.Fatalf("rotated token: kid %q user %q", got.KeyID, got.User.Username)
	}
	if n := srv.Fetches(); n != start+1 {
		t.Fatalf("rotation made %d fetches, want exactly 1", n-start)
	}
	// Known now: no further fetch.
	wantOutcome(t, a.Review(t.Context(), good, nil), decision.Authenticated, "")
	if n := srv.Fetches(); n != start+1 {
		t.Fatalf("second use of the rotated key fetched again (%d)", n-start)
	}
}

// TestForgedKidFlood: 200 concurrent tokens with forged kids, each passing
// every cheap check, cost the issuer at most one fetch and all end
// unknown_key.
func TestForgedKidFlood(t *testing.T) {
	k := testissuer.NewKey("ES256")
	forger := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, nil))
	start := srv.Fetches()

	const n = 200
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = srv.Token(forger.WithKid(fmt.Sprintf("forged-%03d", i)), claimsWith(iss, "k8s", "alice", nil))
	}
	results := make([]decision.Result, n)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() { results[i] = a.Review(t.Context(), tokens[i], nil) })
	}
	wg.Wait()
	for i, r := range results {
		if r.Outcome != decision.Denied || r.Reason != decision.UnknownKey {
			t.Fatalf("token %d: %s/%s %s", i, r.Outcome, r.Reason, r.Message)
		}
	}
	if fetched := srv.Fetches() - start; fetched > 1 {
		t.Fatalf("the flood made %d JWKS fetches, want at most 1", fetched)
	}
	// The issuer's real tokens still work.
	wantOutcome(t, a.Review(t.Context(), srv.Token(k, claimsWith(iss, "k8s", "alice", nil)), nil), decision.Authenticated, "")
}

// TestUnavailableAndReady: an issuer unreachable at start makes the
// authenticator not ready and its tokens Unavailable (keys_unavailable),
// while cheap denials still work; once reachable, reviews succeed.
func TestUnavailableAndReady(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	ok := testissuer.Start(t, testissuer.NewKey("RS256"))
	iss := srv.URL()
	srv.FailWith(503)
	a := newAuthenticator(t, nil,
		issuerFor(srv, []string{"k8s"}, obj{"keys": obj{"minRefreshInterval": "1s"}}),
		issuerFor(ok, []string{"k8s"}, nil))
	ready, notReady := a.Ready()
	if ready || len(notReady) != 1 || notReady[0] != iss {
		t.Fatalf("Ready = %v %q, want false [%q]", ready, notReady, iss)
	}
	tok := srv.Token(k, claimsWith(iss, "k8s", "alice", nil))
	wantOutcome(t, a.Review(t.Context(), tok, nil), decision.Unavailable, decision.KeysUnavailable)
	wantOutcome(t, a.Review(t.Context(), srv.Token(k, claimsWith(iss, "x", "alice", nil)), nil), decision.Denied, decision.AudienceMismatch)

	srv.FailWith(0)
	time.Sleep(1100 * time.Millisecond) // the unknown-kid limiter allows the next fetch
	wantOutcome(t, a.Review(t.Context(), tok, nil), decision.Authenticated, "")
	if ready, notReady := a.Ready(); !ready || notReady != nil {
		t.Fatalf("Ready after recovery = %v %q", ready, notReady)
	}
}

// TestRotationDuringOutage: a valid token signed with a key the issuer
// rotated to while its JWKS endpoint fails is Unavailable (never cached by
// kube-apiserver), not denied; once the issuer answers again, the same
// token is authenticated.
func TestRotationDuringOutage(t *testing.T) {
	k1 := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k1)
	iss := srv.URL()
	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, obj{"keys": obj{"minRefreshInterval": "1s"}}))
	k2 := testissuer.NewKey("ES256")
	srv.SetKeys(k1, k2)
	srv.FailWith(503)
	tok := srv.Token(k2, claimsWith(iss, "k8s", "alice", nil))
	wantOutcome(t, a.Review(t.Context(), tok, nil), decision.Unavailable, decision.KeysUnavailable)
	srv.FailWith(0)
	time.Sleep(1100 * time.Millisecond) // past minRefreshInterval
	got := a.Review(t.Context(), tok, nil)
	wantOutcome(t, got, decision.Authenticated, "")
	if got.User.Username != "test:alice" {
		t.Fatalf("user %q", got.User.Username)
	}
}

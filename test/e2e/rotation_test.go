package e2e

import (
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// rotateB restarts B with a new signing key while publishing both keys
// (what an operator does to rotate), and checks that A accepts a token
// signed by the new key without the webhook being restarted, at the cost of
// exactly one key fetch: the unknown kid triggers one refresh (discovery is
// cached, so the fetch is the JWKS alone, and the metric counts a refresh
// as one fetch either way); later new-kid tokens and old-kid tokens need
// none.
func (e *env) rotateB(t *testing.T, a *apiserver) {
	preRotation := e.mintB(t, allowedNS, readerSA, audienceA)

	if err := e.b.stop(); err != nil {
		t.Fatalf("stop B: %v", err)
	}
	keyB2 := newSAKey(t)
	e.b = startAPIServer(t, e.pki, apiserverSpec{
		name: "cluster-b-rotated", port: e.b.port, etcd: e.etcdB, etcdPrefix: "/registry",
		signingKey: keyB2, verifyKeys: []*saKey{e.keyB1, keyB2},
	})
	e.waitRefreshAllowed()

	fetches, failures := keyFetchSeries(e.b.url), keyFetchFailureSeries(e.b.url)
	m0 := e.hook.metrics(t)

	// A token signed before the restart by the old key: still published,
	// already cached by the webhook, no fetch.
	e.expectReader(t, a, preRotation)
	if m := e.hook.metrics(t); m[fetches] != m0[fetches] {
		t.Fatalf("old-key token caused %v key fetches, want 0", m[fetches]-m0[fetches])
	}

	// A token from the new key: one fetch, then accepted.
	rotated := e.mintB(t, allowedNS, readerSA, audienceA)
	if hdr, _ := tokenParts(t, rotated); hdr["kid"] != keyB2.kid || keyB2.kid == e.keyB1.kid {
		t.Fatalf("rotated token kid %v, want the new key's %s (old %s)", hdr["kid"], keyB2.kid, e.keyB1.kid)
	}
	e.expectReader(t, a, rotated)
	m1 := e.hook.metrics(t)
	if got := m1[fetches] - m0[fetches]; got != 1 {
		t.Fatalf("new-kid token caused %v key fetches of %s, want exactly 1", got, e.b.url)
	}
	if got := m1[failures] - m0[failures]; got != 0 {
		t.Fatalf("%v key fetches failed", got)
	}

	// Another new-key token: the key is cached now.
	e.expectReader(t, a, e.mintB(t, allowedNS, readerSA, audienceA))
	if m := e.hook.metrics(t); m[fetches] != m1[fetches] {
		t.Fatalf("second new-kid token caused %v more key fetches, want 0", m[fetches]-m1[fetches])
	}
}

// expectReader checks A sees token as B's team-a/reader.
func (e *env) expectReader(t *testing.T, a *apiserver, token string) {
	t.Helper()
	_, claims := tokenParts(t, token)
	e.expectUser(t, a, token, authenticationv1.UserInfo{
		Username: readerUser(),
		UID:      e.readerUID,
		Groups:   []string{saPrefix + "system:serviceaccounts", saPrefix + "system:serviceaccounts:" + allowedNS, "system:authenticated"},
		Extra:    map[string]authenticationv1.ExtraValue{credentialIDKey: {"JTI=" + claims["jti"].(string)}},
	})
}

// waitRefreshAllowed sleeps until an unknown kid may trigger a fetch again:
// the webhook refreshes on one at most once per minRefreshInterval.
func (e *env) waitRefreshAllowed() {
	if wait := time.Until(e.lastKeyMiss.Add(minRefresh + 200*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
}

// forgedKidFlood presents several tokens with kids B never published in a
// burst: each is refused, and B is asked for its keys once, not once per
// token (the rate limit that protects the issuer).
func (e *env) forgedKidFlood(t *testing.T, a *apiserver) {
	var tokens []string // signed first: RSA key generation is slow on a busy machine
	for i := range 4 {
		tokens = append(tokens, signRS256(t, freshRSA(t), fmt.Sprintf("forged-%d", i), e.bClaims(t, nil)))
	}
	e.waitRefreshAllowed()
	fetches := keyFetchSeries(e.b.url)
	before := e.hook.metrics(t)
	for _, token := range tokens {
		e.expectRefused(t, a, token, "unknown_key")
	}
	if got := e.hook.metrics(t)[fetches] - before[fetches]; got != 1 {
		t.Fatalf("4 forged kids within %s caused %v key fetches of B, want exactly 1", minRefresh, got)
	}
}

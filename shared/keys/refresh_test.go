package keys

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/testissuer"
)

func TestUnknownKidFetchesOnceThenRateLimited(t *testing.T) {
	k := testissuer.NewKey("RS256")
	h := start(t, k)
	wantFetches(t, h.srv, 1)

	mustErr(t, h.set, "nope-1", "RS256", ErrUnknownKey)
	wantFetches(t, h.srv, 2)
	// A second unknown kid within MinRefresh: refused without a fetch or
	// a wait, and still ErrUnknownKey (not a rate-limiter error).
	h.clock.advance(h.set.minRefresh - time.Second)
	begin := time.Now()
	mustErr(t, h.set, "nope-2", "RS256", ErrUnknownKey)
	if d := time.Since(begin); d > 500*time.Millisecond {
		t.Fatalf("refused refresh took %v", d)
	}
	wantFetches(t, h.srv, 2)
	// Known keys are unaffected.
	mustKey(t, h.set, k.Kid, "RS256", k.Public())
	// After MinRefresh the next unknown kid fetches again.
	h.clock.advance(time.Second)
	mustErr(t, h.set, "nope-3", "RS256", ErrUnknownKey)
	wantFetches(t, h.srv, 3)
	if errs := h.log.all(); len(errs) != 3 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("OnFetch calls = %v", errs)
	}
}

func TestConcurrentUnknownKidsShareOneFetch(t *testing.T) {
	h := start(t, testissuer.NewKey("ES256"))
	h.srv.SetDelay(200 * time.Millisecond) // keep the one fetch in flight while all arrive
	var (
		wg    sync.WaitGroup
		ready = make(chan struct{})
		errs  = make([]error, 100)
	)
	for i := range errs {
		wg.Go(func() {
			<-ready
			_, errs[i] = h.set.Key(context.Background(), "forged-"+strings.Repeat("x", i), "ES256")
		})
	}
	close(ready)
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), ErrUnknownKey.Error()) {
			t.Fatalf("lookup %d: %v, want ErrUnknownKey", i, err)
		}
	}
	wantFetches(t, h.srv, 2) // the prefetch and exactly one shared refresh
}

func TestRotationFoundOnUnknownKid(t *testing.T) {
	old, next := testissuer.NewKey("RS256"), testissuer.NewKey("PS256")
	h := start(t, old)
	mustErr(t, h.set, next.Kid, "PS256", ErrUnknownKey) // not published yet: uses the token
	h.clock.advance(h.set.minRefresh)

	h.srv.SetKeys(old, next)
	mustKey(t, h.set, next.Kid, "PS256", next.Public())
	wantFetches(t, h.srv, 3)

	// Revocation: the next refresh replaces the whole set.
	h.srv.SetKeys(next)
	h.clock.advance(h.set.minRefresh)
	mustErr(t, h.set, "yet-another", "RS256", ErrUnknownKey)
	mustErr(t, h.set, old.Kid, "RS256", ErrUnknownKey)
	mustKey(t, h.set, next.Kid, "PS256", next.Public())
}

func TestRefreshFailureKeepsOldKeys(t *testing.T) {
	k := testissuer.NewKey("ES384")
	h := start(t, k)
	h.srv.FailWith(http.StatusInternalServerError)
	// The issuer did not answer: "new" may be its new key, so the lookup is
	// unavailable (transient), not unknown (a denial).
	mustErr(t, h.set, "new", "ES384", ErrUnavailable)
	wantFetches(t, h.srv, 2)
	// Within MinRefresh the limiter refuses another fetch: unknown, as the
	// rate-limit contract says.
	mustErr(t, h.set, "new", "ES384", ErrUnknownKey)
	wantFetches(t, h.srv, 2)
	mustKey(t, h.set, k.Kid, "ES384", k.Public())
	st := h.set.Stats()
	if st.Fetches != 2 || st.Failures != 1 || st.Keys != 1 || !h.set.Ready() {
		t.Fatalf("Stats = %+v", st)
	}
	errs := h.log.all()
	if len(errs) != 2 || errs[1] == nil || !strings.Contains(errs[1].Error(), "status 500") {
		t.Fatalf("OnFetch = %v", errs)
	}

	// A malformed set is a failure too, and also keeps the keys.
	h.srv.FailWith(0)
	h.srv.SetJWKSBody([]byte(`{"keys": [`))
	h.clock.advance(h.set.minRefresh)
	mustErr(t, h.set, "new", "ES384", ErrUnavailable)
	mustKey(t, h.set, k.Kid, "ES384", k.Public())
	if st := h.set.Stats(); st.Failures != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestServerDownAtStartRecovers(t *testing.T) {
	k := testissuer.NewKey("EdDSA")
	srv := testissuer.Start(t, k)
	srv.FailWith(http.StatusServiceUnavailable)
	h := newHarness(t, authn(srv), srv)
	if h.set.Ready() {
		t.Fatal("ready although the issuer is down")
	}
	// The first lookup tries again at once (the prefetch took no token).
	mustErr(t, h.set, k.Kid, "EdDSA", ErrNoKeys)
	if got := srv.DiscoveryFetches(); got != 2 {
		t.Fatalf("discovery fetched %d times, want 2", got)
	}
	srv.FailWith(0)
	mustErr(t, h.set, k.Kid, "EdDSA", ErrNoKeys) // within MinRefresh: no fetch
	if got := srv.DiscoveryFetches(); got != 2 {
		t.Fatalf("discovery fetched %d times, want 2", got)
	}
	h.clock.advance(h.set.minRefresh)
	mustKey(t, h.set, k.Kid, "EdDSA", k.Public())
	if !h.set.Ready() {
		t.Fatal("not ready after recovery")
	}
}

func TestOversizeJWKSRefused(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	// A valid set padded just past 1 MiB.
	body := []byte(`{"keys":[` + string(mustJSONKey(k)) + `],"pad":"` + strings.Repeat("x", maxBody) + `"}`)
	srv.SetJWKSBody(body)
	h := newHarness(t, authn(srv), srv)
	notReady(t, h, "limit")

	// Exactly at the limit is accepted.
	pad := maxBody - len(`{"keys":[`+string(mustJSONKey(k))+`],"pad":""}`)
	srv.SetJWKSBody([]byte(`{"keys":[` + string(mustJSONKey(k)) + `],"pad":"` + strings.Repeat("x", pad) + `"}`))
	mustKey(t, h.set, k.Kid, "RS256", k.Public())
}

func mustJSONKey(k *testissuer.Key) []byte {
	jwks := testissuer.JWKS(k)
	// {"keys":[ ... ]} -> the one member
	return jwks[len(`{"keys":[`) : len(jwks)-len(`]}`)]
}

// TestAgeRefreshInTheRequest: keys older than the refresh interval are
// refreshed by the review that finds them old, which waits for it (a
// background fetch would never finish under Lambda's freeze); reviews
// meanwhile are served the current keys, and the refreshed set applies
// at once.
func TestAgeRefreshInTheRequest(t *testing.T) {
	old, next := testissuer.NewKey("ES256"), testissuer.NewKey("ES256")
	h := start(t, old)
	h.srv.SetKeys(old, next)
	h.srv.SetDelay(300 * time.Millisecond)

	h.clock.advance(h.set.refresh - time.Second)
	mustKey(t, h.set, old.Kid, "ES256", old.Public())
	wantFetches(t, h.srv, 1) // young enough

	h.clock.advance(time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		mustKey(t, h.set, old.Kid, "ES256", old.Public()) // waits for the refresh
	}()
	eventually(t, "the refresh to start", func() bool { return h.srv.Fetches() == 2 })
	begin := time.Now()
	mustKey(t, h.set, old.Kid, "ES256", old.Public()) // concurrent: served at once
	if d := time.Since(begin); d > 200*time.Millisecond {
		t.Fatalf("a concurrent lookup waited %v for the refresh", d)
	}
	<-done
	wantFetches(t, h.srv, 2)
	if st := h.set.Stats(); st.Keys != 2 || !st.LastSuccess.Equal(h.clock.now()) {
		t.Fatalf("Stats = %+v, want 2 keys obtained at %v", st, h.clock.now())
	}
	mustKey(t, h.set, next.Kid, "ES256", next.Public()) // known now, no fetch
	wantFetches(t, h.srv, 2)
}

// TestAgeRefreshRevokes: a key the issuer stops publishing stops verifying
// at the first review after the refresh interval.
func TestAgeRefreshRevokes(t *testing.T) {
	old, next := testissuer.NewKey("RS256"), testissuer.NewKey("RS256")
	h := start(t, old, next)
	h.srv.SetKeys(next) // old is withdrawn
	h.clock.advance(h.set.refresh)
	mustErr(t, h.set, old.Kid, "RS256", ErrUnknownKey)
	wantFetches(t, h.srv, 2)
	mustKey(t, h.set, next.Kid, "RS256", next.Public())
}

func TestAgeRefreshFailingIsPaced(t *testing.T) {
	k := testissuer.NewKey("RS384")
	h := start(t, k)
	h.srv.FailWith(http.StatusBadGateway)
	h.clock.advance(h.set.refresh)
	mustKey(t, h.set, k.Kid, "RS384", k.Public())
	eventually(t, "the failed background refresh", func() bool { return h.set.Stats().Failures == 1 })
	for range 10 {
		mustKey(t, h.set, k.Kid, "RS384", k.Public()) // still the old keys, no new attempt
	}
	wantFetches(t, h.srv, 2)
	h.clock.advance(h.set.minRefresh)
	mustKey(t, h.set, k.Kid, "RS384", k.Public())
	eventually(t, "the second background refresh", func() bool { return h.set.Stats().Failures == 2 })
	// The failed JWKS fetch forgot the discovered jwks_uri: this attempt
	// failed at discovery.
	if st := h.set.Stats(); st.Fetches != 3 || h.srv.DiscoveryFetches() != 2 {
		t.Fatalf("Stats = %+v, discovery fetched %d times", st, h.srv.DiscoveryFetches())
	}
}

func TestCallerContextBoundsTheWait(t *testing.T) {
	h := start(t, testissuer.NewKey("RS256"))
	h.srv.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := h.set.Key(ctx, "new", "RS256")
	if d := time.Since(begin); d > 500*time.Millisecond {
		t.Fatalf("Key waited %v past its ctx", d)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable (the caller stopped waiting for the refresh)", err)
	}
	// The shared fetch still completes for others.
	eventually(t, "the shared fetch", func() bool { return h.set.Stats().Fetches == 2 })
}

func TestFetchTimeout(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	srv.SetDelay(2 * time.Second)
	j := authn(srv)
	j.Keys.FetchTimeout = dur(100 * time.Millisecond)
	begin := time.Now()
	h := newHarness(t, j, srv)
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("New took %v with a 100ms fetch timeout", d)
	}
	if h.set.Ready() {
		t.Fatal("ready although every fetch timed out")
	}
	// The client's timeout and the request context are the same bound;
	// whichever fires first, the error is a timeout.
	errs := h.log.all()
	var timeout interface{ Timeout() bool }
	if len(errs) != 1 || !errors.As(errs[0], &timeout) || !timeout.Timeout() {
		t.Fatalf("OnFetch errors = %v, want one timeout", errs)
	}
}

func TestRetryRecoversWithoutAReview(t *testing.T) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)
	srv.FailWith(http.StatusServiceUnavailable)
	h := newHarness(t, authn(srv), srv)
	srv.FailWith(0)
	h.set.Retry()
	deadline := time.Now().Add(5 * time.Second)
	for !h.set.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready 5s after Retry with the issuer back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.DiscoveryFetches(); got != 2 {
		t.Fatalf("discovery fetched %d times, want 2 (prefetch, Retry)", got)
	}
	h.set.Retry() // ready: no fetch
	srv.FailWith(http.StatusServiceUnavailable)
	if got := srv.DiscoveryFetches(); got != 2 {
		t.Fatalf("Retry on a ready set fetched: %d", got)
	}
}

func TestRetryIsPaced(t *testing.T) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)
	srv.FailWith(http.StatusServiceUnavailable)
	h := newHarness(t, authn(srv), srv)
	for range 20 {
		h.set.Retry()
	}
	// One background fetch at most per minRefresh (the clock stands still).
	deadline := time.Now().Add(5 * time.Second)
	for h.set.Stats().Fetches < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if st := h.set.Stats(); st.Fetches != 2 || st.Failures != 2 {
		t.Fatalf("Stats = %+v, want 2 fetches (prefetch + one Retry)", st)
	}
}

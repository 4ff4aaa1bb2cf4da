package keys

import (
	"context"
	"crypto"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fetchLog records OnFetch calls.
type fetchLog struct {
	mu   sync.Mutex
	errs []error
}

func (f *fetchLog) record(_ string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *fetchLog) all() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// authn is the configuration of the issuer served by s, trusting only s's
// certificate.
func authn(s *testissuer.Server) *config.JWTAuthenticator {
	return &config.JWTAuthenticator{Issuer: config.Issuer{
		URL:                  s.URL(),
		CertificateAuthority: s.CAPEM(),
		Audiences:            []string{"api"},
	}}
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// harness is a Set over a real issuer with a fake clock and a fetch log.
type harness struct {
	srv   *testissuer.Server
	set   *Set
	clock *clock
	log   *fetchLog
}

func newHarness(t *testing.T, j *config.JWTAuthenticator, srv *testissuer.Server) *harness {
	t.Helper()
	h := &harness{srv: srv, clock: newClock(), log: &fetchLog{}}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	set, err := New(t.Context(), j, Options{OnFetch: h.log.record, Now: h.clock.now, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.set = set
	return h
}

// start serves keys and builds a Set over them with default policy.
func start(t *testing.T, keys ...*testissuer.Key) *harness {
	t.Helper()
	srv := testissuer.Start(t, keys...)
	return newHarness(t, authn(srv), srv)
}

func mustKey(t *testing.T, s *Set, kid, alg string, want crypto.PublicKey) {
	t.Helper()
	got, err := s.Key(context.Background(), kid, alg)
	if err != nil {
		t.Fatalf("Key(%q, %q): %v", kid, alg, err)
	}
	eq, ok := want.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(got) {
		t.Fatalf("Key(%q, %q) returned %T, not the expected key", kid, alg, got)
	}
}

func mustErr(t *testing.T, s *Set, kid, alg string, want error) {
	t.Helper()
	got, err := s.Key(context.Background(), kid, alg)
	if !errors.Is(err, want) || got != nil {
		t.Fatalf("Key(%q, %q) = %T, %v; want nil, %v", kid, alg, got, err, want)
	}
	if want == ErrUnknownKey && errors.Is(err, ErrNoKeys) || want == ErrNoKeys && errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Key(%q, %q): %v matches both sentinels", kid, alg, err)
	}
}

func wantFetches(t *testing.T, srv *testissuer.Server, n int) {
	t.Helper()
	if got := srv.Fetches(); got != n {
		t.Fatalf("JWKS fetched %d times, want %d", got, n)
	}
}

// eventually polls cond for up to 5s (background refreshes).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

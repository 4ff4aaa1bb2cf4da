package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/tokenreview/webhook/shared/config"
)

// flightKey is the one singleflight key of a Set: every fetch, whatever
// triggered it, is shared by whoever needs keys while it runs.
const flightKey = "fetch"

// errRefused is the internal result of a refresh the rate limit refused;
// callers see ErrUnknownKey or ErrNoKeys instead.
var errRefused = errors.New("refresh refused by the rate limit")

// miss handles a lookup that found nothing: join the fetch in flight, or
// start one if the limiter has a token, then look again.
func (s *Set) miss(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	if s.src == nil || algBit(alg) == 0 {
		// Static keys never change; an alg no key can fit never needs a fetch.
		return nil, s.unknown(kid, alg)
	}
	ch := s.group.DoChan(flightKey, s.fetchFunc(true))
	var failed error // the fetch was tried and did not answer
	select {
	case r := <-ch:
		switch {
		case r.Err == nil:
			if k, ok := r.Val.(*snapshot).lookup(kid, alg); ok {
				return k, nil
			}
		case !errors.Is(r.Err, errRefused):
			failed = r.Err
		}
	case <-ctx.Done():
		failed = ctx.Err()
	}
	// A fetch that ended between our first lookup and joining may have
	// installed the key even though ours was refused.
	snap := s.snap.Load()
	if snap != nil {
		if k, ok := snap.lookup(kid, alg); ok {
			return k, nil
		}
	}
	if failed != nil && snap != nil {
		// The issuer did not answer, so the kid may well be its new key:
		// transient, not a denial (which kube-apiserver might cache).
		return nil, fmt.Errorf("issuer %q: kid %.64q: %w: %v", s.issuer, kid, ErrUnavailable, failed)
	}
	return nil, s.unknown(kid, alg)
}

// paced reports whether an age-driven fetch may start now, at most once
// per minRefresh (so an unreachable issuer is not asked on every review),
// and claims that slot.
func (s *Set) paced() bool {
	now := s.now().UnixNano()
	next := s.nextAge.Load()
	return now >= next && s.nextAge.CompareAndSwap(next, now+int64(s.minRefresh))
}

// refreshInBackground starts a fetch that nobody waits for, when pacing
// allows.
func (s *Set) refreshInBackground() {
	if s.paced() {
		s.group.DoChan(flightKey, s.fetchFunc(false)) // the result channel is buffered
	}
}

// refreshAged serves a lookup whose key k was found in snap, an aged
// snapshot: when pacing allows, it refreshes and waits (bounded by ctx
// and the fetch timeout), then answers from the new keys; otherwise, or
// when the refresh fails, it answers k.
func (s *Set) refreshAged(ctx context.Context, snap *snapshot, kid, alg string, k crypto.PublicKey) (crypto.PublicKey, error) {
	if !s.paced() {
		return k, nil
	}
	select {
	case r := <-s.group.DoChan(flightKey, s.fetchFunc(false)):
		if r.Err != nil {
			return k, nil // stale-if-error
		}
	case <-ctx.Done():
		return k, nil
	}
	if cur := s.snap.Load(); cur != snap {
		if nk, ok := cur.lookup(kid, alg); ok {
			return nk, nil
		}
		return nil, fmt.Errorf("issuer %q: kid %.64q, alg %.16q is no longer published: %w", s.issuer, kid, alg, ErrUnknownKey)
	}
	return k, nil
}

// Retry starts a background fetch when no keys were ever obtained (the
// issuer was down at start), at most once per minRefresh, and never waits.
// Readiness probes call it, so an issuer that comes back is picked up
// without waiting for a review to ask for its keys.
func (s *Set) Retry() {
	if s.src != nil && s.snap.Load() == nil {
		s.refreshInBackground()
	}
}

// fetchFunc returns the shared body of a fetch. A limited fetch first takes
// a token from the unknown-kid limiter, without waiting: a refused refresh
// must never queue a review behind the limiter.
func (s *Set) fetchFunc(limited bool) func() (any, error) {
	return func() (any, error) {
		if limited && !s.limiter.AllowN(s.now(), 1) {
			return nil, errRefused
		}
		// Not the caller's ctx: the fetch is shared, and one caller giving
		// up must not fail the others. Each request has its own timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.src.timeout+time.Second)
		defer cancel()
		return s.fetch(ctx)
	}
}

// fetch loads the remote keys once, installs them on success, and reports.
func (s *Set) fetch(ctx context.Context) (*snapshot, error) {
	s.fetches.Add(1)
	entries, err := s.src.load(ctx, s.log)
	if err == nil {
		snap := newSnapshot(entries, s.now())
		s.snap.Store(snap)
		s.log.Debug("issuer keys fetched", "issuer", s.issuer, "keys", len(snap.kids))
		s.report(nil)
		return snap, nil
	}
	s.failures.Add(1)
	s.log.Warn("issuer keys fetch failed; keeping the previous keys", "issuer", s.issuer, "ready", s.Ready(), "error", err)
	s.report(err)
	return nil, err
}

func (s *Set) report(err error) {
	if s.onFetch != nil {
		s.onFetch(s.issuer, err)
	}
}

// static parses the configured JWKS (config unquotes the string form and
// checks its shape). A key that does not parse is an error; keys that can
// never verify a signature (oct, use "enc", X25519) are skipped; none
// usable is an error.
func (s *Set) static(iss *config.Issuer) (*snapshot, error) {
	raw, err := iss.StaticJWKS()
	if err != nil {
		return nil, err
	}
	entries, err := staticKeys(context.Background(), raw, s.issuer, s.log)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("no usable signature key")
	}
	return newSnapshot(entries, s.now()), nil
}

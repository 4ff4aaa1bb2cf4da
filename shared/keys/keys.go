// Package keys owns one issuer's verification keys: where they come from
// (a static JWKS in the configuration, a configured jwksURL, or OIDC
// discovery), how they are fetched (a per-issuer HTTPS client trusting only
// the issuer's certificate authority when one is set, bounded time and
// size), which keys may ever verify a token (asymmetric signature keys
// only, matched to the token's alg), and when they are refreshed (on age,
// in the background; on an unknown kid, rate-limited and deduplicated;
// keeping the last good keys when a fetch fails).
//
// What the libraries do. jwkset (github.com/MicahParks/jwkset) downloads
// and parses the JWKS: each fetch builds a fresh jwkset.NewStorageFromHTTP
// with the issuer's client, the fetch timeout, RefreshInterval 0 (jwkset
// then starts no goroutine and fetches once, synchronously) and
// NoErrorReturnFirstHTTPReq false (a failed fetch is an error, not an empty
// set). jwkset skips keys it does not support (Ed448, secp256k1, unknown
// kty) but fails the whole set on a malformed key: that fetch fails and
// the previous keys stay. keyfunc (github.com/MicahParks/keyfunc/v3), built
// over that storage with the use whitelist {"sig", ""}, decides which
// (kid, alg) pairs a key may serve: a key is admitted for an alg only if
// keyfunc returns it for a token header {kid, alg}, which checks the JWK's
// use and, when present, its alg. A static issuer.jwks is parsed by jwkset
// into a memory storage and admitted by keyfunc the same way; there any
// key jwkset cannot parse, unsupported types included, is an error.
//
// What this package adds. OIDC discovery (keyfunc has none), with the
// document's issuer matched exactly; a 1 MiB cap on every response
// (jwkset has none); https-only redirects; refusal of a fetched document
// without a "keys" array (jwkset reads it as an empty set, which would
// revoke every key). On top of keyfunc's verdict: never an oct key
// (keyfunc would return the HMAC secret), never a key published with
// private material (keyfunc would return its public half; jwkset even
// drops a bare RSA "d", so the raw document is checked), key_ops must
// include "verify" when present, RSA of at least 2048 bits, and the key's
// type and curve must fit the alg. Then the refresh policy: stale-if-error,
// a non-blocking rate limit on unknown-kid fetches (a refused fetch never
// waits, unlike keyfunc's limiter), one fetch in flight shared by all
// callers, a background refresh when the keys are old, OnFetch and Stats.
//
// keyfunc is consulted once per key per fetch, never per review: Key
// answers from an immutable snapshot of the admitted keys, indexed by kid
// and alg, in a lookup that takes no lock and allocates nothing. Calling
// keyfunc per token would cost a storage scan, an interface conversion and
// error values on the hot path, and on an unknown kid its own refresh
// would block behind its limiter (or, through a kid-less token, hand
// golang-jwt every key to try).
//
// Every issuer gets its own Set; keys are never shared across issuers, so a
// kid published by one issuer can never verify a token routed to another
// (keyfunc, given several URLs, matches a kid across all of them).
//
// No goroutine runs between requests: AWS Lambda freezes the process
// between invocations, so refreshes start from Key calls and are bounded
// by the fetch timeout.
package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/tokenreview/webhook/shared/config"
)

// ErrUnknownKey: no usable key matches the token's kid and alg, even after
// any refresh the rate limit allowed. The token should be denied.
var ErrUnknownKey = errors.New("no usable key for the token's kid and alg")

// ErrUnavailable: the token's kid is not among the current keys and the
// refresh that should have looked for it failed (the issuer did not answer
// in time). Transient: the review is unavailable, not denied. A refresh the
// rate limit refused is not a failure: that ends as ErrUnknownKey.
var ErrUnavailable = errors.New("the issuer's keys could not be refreshed")

// ErrNoKeys: the issuer's keys have never been obtained (the issuer was
// unreachable at start and since). Transient: the review is unavailable,
// not denied.
var ErrNoKeys = errors.New("the issuer's keys have not been fetched yet")

// Options are the optional collaborators of a Set.
type Options struct {
	// HTTPClient replaces the per-issuer client built from the issuer's
	// certificateAuthority (tests). Responses are still capped in size and
	// each request is still bounded by the fetch timeout.
	HTTPClient *http.Client
	// OnFetch is called after every fetch attempt (discovery and JWKS
	// together count as one) with nil or the error. Not called for a static
	// JWKS. It must be quick and safe for concurrent use.
	OnFetch func(issuer string, err error)
	// Now replaces time.Now (tests of the age and rate-limit policies).
	Now func() time.Time
	// Logger receives fetch failures and skipped keys (never key
	// material); slog.Default() when nil.
	Logger *slog.Logger
}

// Stats describes a Set for health and debug output.
type Stats struct {
	// Issuer is the issuer URL.
	Issuer string
	// Static is true when the keys come from the configuration.
	Static bool
	// Fetches and Failures count fetch attempts and failed ones.
	Fetches, Failures int64
	// LastSuccess is when the current keys were obtained (zero if never).
	LastSuccess time.Time
	// Keys is the number of usable keys; Kids their key IDs, sorted
	// ("" for a key without kid).
	Keys int
	Kids []string
}

// Set holds one issuer's current usable keys and refreshes them.
type Set struct {
	issuer string
	src    *source // nil for a static JWKS
	log    *slog.Logger
	now    func() time.Time

	onFetch    func(string, error)
	refresh    time.Duration // age after which keys are refreshed in the background
	minRefresh time.Duration // least time between two unknown-kid fetches

	snap     atomic.Pointer[snapshot]
	limiter  *rate.Limiter // unknown-kid fetches: burst 1, full at start
	group    singleflight.Group
	nextAge  atomic.Int64 // UnixNano before which no age refresh starts
	fetches  atomic.Int64
	failures atomic.Int64
}

// New builds the key set of j's issuer. A static issuer.jwks is parsed now
// (no network, ever). Otherwise New fetches the keys within ctx: a network
// or server failure is logged and is not an error (Ready reports false and
// Key tries again), but a configuration problem is (a certificateAuthority
// without a PEM certificate, a non-https URL, a static JWKS without any
// usable key).
func New(ctx context.Context, j *config.JWTAuthenticator, opts Options) (*Set, error) {
	s := &Set{
		issuer:     j.Issuer.URL,
		log:        opts.Logger,
		now:        opts.Now,
		onFetch:    opts.OnFetch,
		refresh:    j.Keys.Refresh(),
		minRefresh: j.Keys.MinRefresh(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.limiter = rate.NewLimiter(rate.Every(s.minRefresh), 1)

	if len(j.Issuer.JWKS) > 0 {
		if j.Issuer.JWKSURL != "" || (j.Issuer.DiscoveryURL != nil && *j.Issuer.DiscoveryURL != "") {
			return nil, fmt.Errorf("issuer %q: jwks excludes jwksURL and discoveryURL", s.issuer)
		}
		snap, err := s.static(&j.Issuer)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: static jwks: %w", s.issuer, err)
		}
		s.snap.Store(snap)
		return s, nil
	}

	src, err := newSource(&j.Issuer, j.Keys.Timeout(), opts.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", s.issuer, err)
	}
	s.src = src
	// The prefetch does not take the unknown-kid token: after a failed
	// start, the first Key call may try again at once.
	_, _ = s.fetch(ctx)
	return s, nil
}

// Ready reports whether keys have ever been obtained.
func (s *Set) Ready() bool { return s.snap.Load() != nil }

// Key returns the public key that verifies a token whose protected header
// has kid and alg.
//
// Contract: call Key only after the token's cheap checks pass (it is well
// formed, routed to this issuer, alg allowed, times and audience fine), so
// that a flood of junk tokens cannot make the issuer be fetched. Even so,
// fetches on a miss are limited to one per MinRefreshInterval and shared by
// concurrent callers.
//
// A key is returned only if it is an asymmetric signature key (JWK use
// "sig" or absent, never oct), its JWK alg (when present) equals alg, and
// its type fits alg: RSA (at least 2048 bits) for RS*/PS*, ECDSA on P-256,
// P-384, P-521 for ES256, ES384, ES512, Ed25519 for EdDSA.
//
// A token without kid uses the one key that fits alg when there is exactly
// one; with several candidates it gets ErrUnknownKey rather than a
// signature check per key (a kid-less token must not cost N verifications,
// nor be matched to a key by trial).
//
// On a miss Key refreshes the set (subject to the limit, bounded by the
// fetch timeout and ctx) and looks again. It returns an error wrapping
// ErrUnknownKey (also when the rate limit refused the refresh), ErrNoKeys
// when no keys were ever obtained, or ErrUnavailable when the refresh
// failed; never a rate-limiter error.
//
// Keys older than the refresh interval are refreshed in the request: the
// one review that starts the refresh (at most one per MinRefreshInterval)
// waits for it, bounded by the fetch timeout and ctx, and then looks again,
// so a key the issuer has withdrawn stops verifying. Concurrent reviews
// are served the current keys meanwhile, and if the refresh fails the old
// keys are kept. The refresh is not left to a background goroutine: AWS
// Lambda freezes the process as soon as a review is answered, and such a
// fetch would never complete.
func (s *Set) Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	snap := s.snap.Load()
	if snap != nil {
		if k, ok := snap.lookup(kid, alg); ok {
			if s.src != nil && s.now().Sub(snap.at) >= s.refresh {
				return s.refreshAged(ctx, snap, kid, alg, k)
			}
			return k, nil
		}
	}
	return s.miss(ctx, kid, alg)
}

// Stats returns counters and the current key IDs.
func (s *Set) Stats() Stats {
	st := Stats{
		Issuer:   s.issuer,
		Static:   s.src == nil,
		Fetches:  s.fetches.Load(),
		Failures: s.failures.Load(),
	}
	if snap := s.snap.Load(); snap != nil {
		st.LastSuccess = snap.at
		st.Keys = len(snap.kids)
		st.Kids = append([]string(nil), snap.kids...)
	}
	return st
}

func (s *Set) unknown(kid, alg string) error {
	if s.snap.Load() == nil {
		return fmt.Errorf("issuer %q: %w", s.issuer, ErrNoKeys)
	}
	return fmt.Errorf("issuer %q: kid %.64q, alg %.16q: %w", s.issuer, kid, alg, ErrUnknownKey)
}

package verify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/keys"
)

// Options are the optional collaborators of an Authenticator.
type Options struct {
	// Now replaces time.Now for the time checks and the key sets.
	Now func() time.Time
	// HTTPClient replaces every issuer's own HTTPS client (tests).
	HTTPClient *http.Client
	// OnKeyFetch is called after every key fetch attempt of any issuer,
	// with the issuer URL and nil or the error (metrics, logs).
	OnKeyFetch func(issuer string, err error)
	// Logger receives key-fetch problems; slog.Default() when nil. Reviews
	// themselves are not logged here: the caller logs the Result.
	Logger *slog.Logger
}

// Authenticator reviews tokens against the configured issuers. It is safe
// for concurrent use; everything but the key sets' caches is immutable
// after New.
type Authenticator struct {
	issuers map[string]*issuer // by exact issuer URL
	order   []*issuer          // configuration order, for Ready
	limit   int                // token size cap in bytes
	now     func() time.Time
}

// Review decides on one token. audiences are the TokenReview's
// spec.audiences (may be empty). The Result is Authenticated with the user
// and accepted audiences, or Denied/Unavailable with a reason code; it
// never contains the token or any part of it but public claims and header
// values.
func (a *Authenticator) Review(ctx context.Context, token string, audiences []string) decision.Result {
	var r decision.Result
	if err := a.review(ctx, token, audiences, &r); err != nil {
		out := decision.FromError(err)
		out.Issuer, out.KeyID, out.Algorithm = r.Issuer, r.KeyID, r.Algorithm
		return out
	}
	r.Outcome = decision.Authenticated
	return r
}

// review runs the checks in cost order, filling r as facts become known.
// Everything before the key lookup is local and cheap; only a token that
// passed all of it can make a key set fetch.
func (a *Authenticator) review(ctx context.Context, token string, audiences []string, r *decision.Result) error {
	c, derr := splitCompact(token, a.limit)
	if derr != nil {
		return derr
	}
	// Header values reach logs: keep them to what a real alg and kid need.
	r.Algorithm, r.KeyID = clip(c.alg, 32), clip(c.kid, 128)
	cl, derr := decodeClaims(c.payload)
	if derr != nil {
		return derr
	}
	is, derr := a.route(cl)
	if derr != nil {
		return derr
	}
	r.Issuer = is.url
	method := is.method(c.alg)
	if method == nil {
		return decision.Deny(decision.AlgNotAllowed, "alg %.32q is not allowed for issuer %q (allowed: %v)", c.alg, is.url, is.algNames)
	}
	if derr := is.checkTime(cl, a.now()); derr != nil {
		return derr
	}
	accepted, derr := is.checkAudience(cl, audiences)
	if derr != nil {
		return derr
	}
	key, err := is.keys.Key(ctx, c.kid, c.alg)
	switch {
	case errors.Is(err, keys.ErrNoKeys):
		return decision.Unavailablef("issuer %q: keys have not been obtained yet", is.url)
	case errors.Is(err, keys.ErrUnavailable):
		return decision.Unavailablef("issuer %q: no key for kid %.64q, and the issuer's keys could not be refreshed", is.url, c.kid)
	case err != nil:
		// keys wraps ErrUnknownKey; any other error is treated the same,
		// failing closed.
		return decision.Deny(decision.UnknownKey, "no key of issuer %q for kid %.64q and alg %.32q", is.url, c.kid, c.alg)
	}
	if err := method.Verify(c.signingInput, c.sig, key); err != nil {
		return decision.Deny(decision.BadSignature, "signature does not verify with key %.64q of issuer %q", c.kid, is.url)
	}
	user, err := is.mapper.Map(cl)
	if err != nil {
		return err
	}
	r.User, r.Audiences = user, accepted
	return nil
}

// googleIssuer is the one issuer whose iss may be written without scheme
// (kube-apiserver and go-oidc accept "accounts.google.com" for it).
const googleIssuer = "https://accounts.google.com"

// route finds the issuer named by the (still unverified) iss claim, by
// exact match.
func (a *Authenticator) route(cl map[string]any) (*issuer, *decision.Error) {
	raw, present := cl["iss"]
	if !present {
		return nil, decision.Deny(decision.Malformed, "token has no iss")
	}
	iss, ok := raw.(string)
	if !ok {
		return nil, decision.Deny(decision.Malformed, "iss is not a string")
	}
	if iss == "accounts.google.com" {
		iss = googleIssuer
	}
	is := a.issuers[iss]
	if is == nil {
		return nil, decision.Deny(decision.UnknownIssuer, "issuer %.256q is not configured", iss)
	}
	return is, nil
}

// Ready reports whether every issuer's keys have been obtained at least
// once, and lists the URLs of those whose keys have not. It has no side
// effect; see Retry.
func (a *Authenticator) Ready() (bool, []string) {
	var notReady []string
	for _, is := range a.order {
		if !is.keys.Ready() {
			notReady = append(notReady, is.url)
		}
	}
	return len(notReady) == 0, notReady
}

// Retry starts a paced background fetch (keys.Set.Retry) for every issuer
// whose keys were never obtained, so a readiness probe brings back an
// issuer that was down at start without waiting for a review. Not for
// Lambda's INIT: a fetch left running when the environment freezes would
// be joined, stale, by the first review after the thaw.
func (a *Authenticator) Retry() {
	for _, is := range a.order {
		is.keys.Retry()
	}
}

// clip cuts s to at most n bytes (not splitting a UTF-8 sequence).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

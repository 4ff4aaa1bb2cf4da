package verify

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// obj is a JSON object under construction.
type obj = map[string]any

// issuerFor returns the jwt entry of a configuration for srv, reached over
// real TLS through discovery, trusting only srv's certificate, with a
// claim+prefix username mapping. mods are merged into the entry (top
// level) last.
func issuerFor(srv *testissuer.Server, audiences []string, mods obj) obj {
	e := obj{
		"issuer": obj{
			"url":                  srv.URL(),
			"certificateAuthority": srv.CAPEM(),
			"audiences":            audiences,
		},
		"claimMappings": obj{
			"username": obj{"claim": "sub", "prefix": "test:"},
		},
	}
	if len(audiences) > 1 {
		e["issuer"].(obj)["audienceMatchPolicy"] = "MatchAny"
	}
	maps.Copy(e, mods)
	return e
}

// newAuthenticator loads a WebhookConfiguration with the given jwt entries
// through the real config package and builds an Authenticator from it.
func newAuthenticator(t testing.TB, webhook obj, entries ...obj) *Authenticator {
	t.Helper()
	a, err := tryAuthenticator(t, webhook, entries...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func tryAuthenticator(t testing.TB, webhook obj, entries ...obj) (*Authenticator, error) {
	t.Helper()
	return tryAuthenticatorOpts(t, Options{Logger: slog.New(slog.DiscardHandler)}, webhook, entries...)
}

func tryAuthenticatorOpts(t testing.TB, opts Options, webhook obj, entries ...obj) (*Authenticator, error) {
	t.Helper()
	doc := obj{
		"apiVersion": config.WebhookAPIVersion,
		"kind":       config.WebhookKind,
		"jwt":        entries,
	}
	if webhook != nil {
		doc["webhook"] = webhook
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(data)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return New(context.Background(), cfg, opts)
}

// claimsWith returns the usual valid claims (iat, nbf now; exp in 10
// minutes) for iss and aud with sub, plus extra.
func claimsWith(iss string, aud any, sub string, extra obj) obj {
	c := testissuer.Claims(iss, "", sub, 10*time.Minute)
	if aud != nil {
		c["aud"] = aud
	}
	maps.Copy(c, extra)
	return c
}

// wantDenied asserts a non-authenticated result with the exact outcome and
// reason.
func wantOutcome(t *testing.T, got decision.Result, outcome decision.Outcome, reason decision.Reason) {
	t.Helper()
	if got.Outcome != outcome || got.Reason != reason {
		t.Fatalf("got %s/%q (%s), want %s/%q", got.Outcome, got.Reason, got.Message, outcome, reason)
	}
	if outcome != decision.Authenticated && got.Message == "" {
		t.Fatalf("denial %q has an empty message", got.Reason)
	}
}

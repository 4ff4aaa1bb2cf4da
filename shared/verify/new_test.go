package verify

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// TestNewReportsEveryCompileError: every issuer's CEL problems come back
// at once with their field paths, and no issuer is contacted.
func TestNewReportsEveryCompileError(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srvA, srvB := testissuer.Start(t, k), testissuer.Start(t, k)
	_, err := tryAuthenticator(t, nil,
		issuerFor(srvA, []string{"k8s"}, obj{"claimMappings": obj{"username": obj{"expression": "claims.sub +"}}}),
		issuerFor(srvB, []string{"k8s"}, obj{"claimValidationRules": []obj{{"expression": "claims.x == ", "message": "m"}}}))
	if err == nil {
		t.Fatal("New accepted invalid CEL")
	}
	for _, path := range []string{"jwt[0].claimMappings.username.expression", "jwt[1].claimValidationRules[0].expression"} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error lacks %s: %v", path, err)
		}
	}
	if n := srvA.Fetches() + srvA.DiscoveryFetches() + srvB.Fetches() + srvB.DiscoveryFetches(); n != 0 {
		t.Errorf("a configuration error still fetched keys %d times", n)
	}
}

// TestCompileIssuerRefusesSymmetricAlgs: defence in depth behind config
// validation: none and HS* never become allowed methods.
func TestCompileIssuerRefusesSymmetricAlgs(t *testing.T) {
	prefix := ""
	j := &config.JWTAuthenticator{
		Issuer:        config.Issuer{URL: "https://issuer.example.com", Audiences: []string{"k8s"}},
		ClaimMappings: config.ClaimMappings{Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: &prefix}},
		Algorithms:    []string{"HS256", "none", "RS256"},
	}
	is, errs := compileIssuer(j, field.NewPath("jwt").Index(3))
	if is != nil || len(errs) != 2 {
		t.Fatalf("compileIssuer = %v, %v; want two errors", is, errs)
	}
	for _, e := range errs {
		if e.Field != "jwt[3].algorithms" {
			t.Errorf("error path %q", e.Field)
		}
	}
}

// TestStaticJWKSAndGoogleIssuer: a static JWKS issuer needs no network;
// "accounts.google.com" routes to https://accounts.google.com as in kube;
// the result names the issuer, key and algorithm.
func TestStaticJWKSAndGoogleIssuer(t *testing.T) {
	k := testissuer.NewKey("ES256")
	a := newAuthenticator(t, nil, obj{
		"issuer":        obj{"url": googleIssuer, "audiences": []string{"client-1"}, "jwks": json.RawMessage(testissuer.JWKS(k))},
		"claimMappings": obj{"username": obj{"claim": "email", "prefix": ""}},
	})
	if ok, _ := a.Ready(); !ok {
		t.Fatal("a static JWKS issuer is not ready")
	}
	sign := func(iss string) string {
		return testissuer.Sign(k, obj{"alg": "ES256", "kid": k.Kid}, claimsWith(iss, "client-1", "1234", obj{"email": "jane@gmail.com", "email_verified": true}))
	}
	for _, iss := range []string{"accounts.google.com", googleIssuer} {
		got := a.Review(t.Context(), sign(iss), nil)
		wantOutcome(t, got, decision.Authenticated, "")
		if got.User.Username != "jane@gmail.com" || got.Issuer != googleIssuer || got.KeyID != k.Kid || got.Algorithm != "ES256" {
			t.Fatalf("iss %q: %+v", iss, got)
		}
	}
	wantOutcome(t, a.Review(t.Context(), sign("http://accounts.google.com"), nil), decision.Denied, decision.UnknownIssuer)
}

// TestTokenLimit: the configured maxTokenBytes is the cap, inclusive.
func TestTokenLimit(t *testing.T) {
	k := testissuer.NewKey("EdDSA")
	srv := testissuer.Start(t, k)
	tok := srv.Token(k, claimsWith(srv.URL(), "k8s", "alice", obj{"pad": strings.Repeat("p", 1200)}))
	for _, tc := range []struct {
		limit  int
		reason decision.Reason
	}{{len(tok), ""}, {len(tok) - 1, decision.Malformed}} {
		a := newAuthenticator(t, obj{"maxTokenBytes": tc.limit}, issuerFor(srv, []string{"k8s"}, nil))
		outcome := decision.Authenticated
		if tc.reason != "" {
			outcome = decision.Denied
		}
		wantOutcome(t, a.Review(t.Context(), tok, nil), outcome, tc.reason)
	}
}

// TestOnKeyFetch: the hook sees every issuer's fetches with their outcome.
func TestOnKeyFetch(t *testing.T) {
	k := testissuer.NewKey("RS256")
	up, down := testissuer.Start(t, k), testissuer.Start(t, k)
	down.FailWith(500)
	var mu sync.Mutex
	got := map[string][]bool{} // issuer → ok per fetch
	opts := Options{Logger: slog.New(slog.DiscardHandler), OnKeyFetch: func(issuer string, err error) {
		mu.Lock()
		defer mu.Unlock()
		got[issuer] = append(got[issuer], err == nil)
	}}
	if _, err := tryAuthenticatorOpts(t, opts, nil, issuerFor(up, []string{"k8s"}, nil), issuerFor(down, []string{"k8s"}, nil)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got, map[string][]bool{up.URL(): {true}, down.URL(): {false}}) {
		t.Fatalf("OnKeyFetch calls = %v", got)
	}
}

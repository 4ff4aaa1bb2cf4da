package verify

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// The fuzz target needs tokens that stay valid and reproducible: a fixed
// Ed25519 key (deterministic signatures), fixed claims and a fixed clock.
const (
	fuzzIssuer = "https://fuzz.example.com"
	fuzzNow    = 1_800_000_000
)

func fuzzKey() *testissuer.Key {
	seed := []byte("verify-fuzz-fixed-ed25519-seed!!") // 32 bytes
	return &testissuer.Key{Kid: "fuzz-ed", Alg: "EdDSA", Private: ed25519.NewKeyFromSeed(seed)}
}

func fuzzClaims() obj {
	return obj{
		"iss": fuzzIssuer, "aud": []string{"k8s"}, "sub": "system:serviceaccount:ci:deployer",
		"iat": fuzzNow - 60, "nbf": fuzzNow - 60, "exp": fuzzNow + 3600, "jti": "j-1",
		"kubernetes.io": obj{"namespace": "ci", "serviceaccount": obj{"name": "deployer", "uid": "u-1"}},
		"groups":        []string{"a", "b"},
	}
}

// fuzzSeeds returns the valid token and hostile variants of it.
func fuzzSeeds() (valid string, seeds []string) {
	k := fuzzKey()
	attacker := &testissuer.Key{Kid: "attacker", Alg: "EdDSA", Private: ed25519.NewKeyFromSeed([]byte("verify-fuzz-attacker-ed25519-key"))}
	h := obj{"alg": "EdDSA", "kid": k.Kid, "typ": "JWT"}
	valid = testissuer.Sign(k, h, fuzzClaims())
	gh, gp, gs := segments(valid)
	with := func(extra obj) obj {
		c := fuzzClaims()
		for n, v := range extra {
			c[n] = v
		}
		return c
	}
	seeds = []string{
		valid,
		testissuer.Sign(k, obj{"alg": "none"}, fuzzClaims()),
		testissuer.Sign(k, obj{"alg": "none"}, fuzzClaims()) + gs,
		testissuer.SignHMAC([]byte("secret"), obj{"alg": "HS256", "kid": k.Kid}, fuzzClaims()),
		testissuer.Sign(k, obj{"alg": "EdDSA", "kid": k.Kid, "crit": []string{"b64"}, "b64": false}, fuzzClaims()),
		testissuer.Sign(attacker, obj{"alg": "EdDSA", "kid": attacker.Kid, "jku": "https://127.0.0.1:1/jwks", "jwk": attacker.JWK("EdDSA", "sig")}, fuzzClaims()),
		testissuer.Sign(attacker, obj{"alg": "EdDSA", "kid": k.Kid, "jwk": attacker.JWK("EdDSA", "sig")}, fuzzClaims()),
		testissuer.SignRaw(k, []byte(`{"alg":"EdDSA","kid":"fuzz-ed","alg":"none"}`), mustJSON(fuzzClaims())),
		testissuer.SignRaw(k, mustJSON(h), []byte(`{"iss":"`+fuzzIssuer+`","iss":"https://evil","aud":"k8s","exp":1800003600,"sub":"x"}`)),
		testissuer.SignRaw(k, mustJSON(h), []byte(`{"iss":"`+fuzzIssuer+`","aud":"k8s","exp":"1800003600","sub":"x"}`)),
		testissuer.Sign(k, h, with(obj{"aud": 7})),
		testissuer.Sign(k, h, with(obj{"exp": fuzzNow - 3600})),
		testissuer.Sign(k, h, with(obj{"iss": "https://other.example.com"})),
		testissuer.Sign(k, obj{"alg": "EdDSA", "kid": "unknown"}, fuzzClaims()),
		testissuer.SignRaw(k, mustJSON(h), []byte(`{"iss":"`+fuzzIssuer+`","n":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`)),
		gh + "." + gp + ".",
		gh + "." + gp,
		valid + "." + gs,
		gh + "." + gp + "." + gs[:len(gs)-2] + "AA",
	}
	return valid, seeds
}

func newFuzzAuthenticator(t testing.TB) *Authenticator {
	doc := obj{
		"apiVersion": config.WebhookAPIVersion, "kind": config.WebhookKind,
		"jwt": []obj{{
			"issuer":                   obj{"url": fuzzIssuer, "audiences": []string{"k8s"}, "jwks": json.RawMessage(testissuer.JWKS(fuzzKey()))},
			"kubernetesServiceAccount": obj{"prefix": "fuzz:", "namespaces": []string{"ci"}},
		}},
	}
	cfg, err := config.Load(mustJSON(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, Options{
		Now:    func() time.Time { return time.Unix(fuzzNow, 0) },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// FuzzReview: Review never panics; every non-authenticated result has a
// reason; only the one valid token is authenticated; no message contains
// the token.
func FuzzReview(f *testing.F) {
	valid, seeds := fuzzSeeds()
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	a := newFuzzAuthenticator(f)
	if r := a.Review(context.Background(), valid, nil); r.Outcome != decision.Authenticated {
		f.Fatalf("seed token: %s/%s %s", r.Outcome, r.Reason, r.Message)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok := string(data)
		r := a.Review(context.Background(), tok, nil)
		if r.Outcome != decision.Authenticated {
			if r.Reason == "" {
				t.Fatalf("%s without a reason", r.Outcome)
			}
		} else if tok != valid {
			t.Fatalf("authenticated a token other than the valid seed: %q", tok)
		}
		if len(tok) >= 16 && strings.Contains(r.Message, tok) {
			t.Fatalf("message contains the token")
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzReview when
// VERIFY_WRITE_FUZZ_SEEDS=1 (the seeds are deterministic), and otherwise
// checks that the committed corpus is complete.
func TestWriteFuzzSeeds(t *testing.T) {
	_, seeds := fuzzSeeds()
	dir := filepath.Join("testdata", "fuzz", "FuzzReview")
	for i, s := range seeds {
		path := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if os.Getenv("VERIFY_WRITE_FUZZ_SEEDS") == "1" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("%s is missing or stale (err %v); rerun with VERIFY_WRITE_FUZZ_SEEDS=1", path, err)
		}
	}
}

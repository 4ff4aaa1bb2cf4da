package verify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
)

var benchAlgs = []string{"RS256", "ES256", "EdDSA"}

// saClaims are realistic claims of a pod-bound Kubernetes service-account
// token, plus a groups claim.
func saClaims(iss string) obj {
	now := time.Now()
	return obj{
		"aud": []string{"https://kubernetes.default.svc.cluster.local", "k8s"},
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"iss": iss,
		"jti": "0f5e5a6c-3b0e-4d6a-9a51-8f2d1c7e4b93",
		"kubernetes.io": obj{
			"namespace":      "ci",
			"node":           obj{"name": "ip-10-0-1-23.eu-west-1.compute.internal", "uid": "4c0e8f6e-55a2-4a5e-9f83-2d4f1b3a7c10"},
			"pod":            obj{"name": "runner-7d9f8c6b5-x2k4q", "uid": "e1b2c3d4-5f60-4718-9a2b-3c4d5e6f7a80"},
			"serviceaccount": obj{"name": "deployer", "uid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
			"warnafter":      now.Add(50 * time.Minute).Unix(),
		},
		"sub":    "system:serviceaccount:ci:deployer",
		"groups": []string{"team-a", "deployers"},
	}
}

type benchSetup struct {
	a     *Authenticator
	token string
	input string
	sig   []byte
	key   any
	alg   string
}

func newBenchSetup(b *testing.B, alg string) benchSetup {
	k := testissuer.NewKey(alg)
	srv := testissuer.Start(b, k)
	a := newAuthenticator(b, nil, issuerFor(srv, []string{"k8s"}, obj{
		"claimMappings": obj{
			"username": obj{"claim": "sub", "prefix": "cluster-b:"},
			"groups":   obj{"claim": "groups", "prefix": "cluster-b:"},
		},
	}))
	tok := srv.Token(k, saClaims(srv.URL()))
	r := a.Review(context.Background(), tok, nil) // warm: keys fetched, checked
	if r.Outcome != decision.Authenticated || r.User.Username != "cluster-b:system:serviceaccount:ci:deployer" {
		b.Fatalf("bench token: %s/%s %s", r.Outcome, r.Reason, r.Message)
	}
	dot := strings.LastIndexByte(tok, '.')
	sig, err := b64.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	return benchSetup{a: a, token: tok, input: tok[:dot], sig: sig, key: k.Public(), alg: alg}
}

// BenchmarkSignature is the floor: golang-jwt's Verify of the same token's
// signing input with the same key.
func BenchmarkSignature(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			s := newBenchSetup(b, alg)
			m := jwt.GetSigningMethod(alg)
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Verify(s.input, s.sig, s.key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReview is one full review of the same token, keys warm.
func BenchmarkReview(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			s := newBenchSetup(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if r := s.a.Review(ctx, s.token, nil); r.Outcome != decision.Authenticated {
					b.Fatal(r.Reason)
				}
			}
		})
	}
}

// BenchmarkCheap is a review that stops at a cheap check (wrong audience):
// the cost a junk-token flood imposes.
func BenchmarkCheap(b *testing.B) {
	s := newBenchSetup(b, "ES256")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := s.a.Review(ctx, s.token, []string{"elsewhere"}); r.Reason != decision.AudienceMismatch {
			b.Fatal(r.Reason)
		}
	}
}

// BenchmarkDecodeClaims compares the payload parser this package uses with
// go-json-experiment (same strictness) and encoding/json (which keeps the
// last duplicate silently and would need a second pass to refuse them).
func BenchmarkDecodeClaims(b *testing.B) {
	payload := mustJSON(saClaims("https://issuer.example.com"))
	b.Run("local", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeClaims(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-json-experiment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oracle(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(payload, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSplitCompact is the cost of the framing and header checks.
func BenchmarkSplitCompact(b *testing.B) {
	k := testissuer.NewKey("EdDSA")
	tok := testissuer.Sign(k, obj{"alg": "EdDSA", "kid": k.Kid, "typ": "JWT"}, saClaims("https://issuer.example.com"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := splitCompact(tok, 16384); err != nil {
			b.Fatal(err)
		}
	}
}

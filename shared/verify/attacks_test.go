package verify

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/internal/testissuer"
)

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// segments splits a compact token.
func segments(tok string) (h, p, s string) {
	parts := strings.Split(tok, ".")
	return parts[0], parts[1], parts[2]
}

// TestReviewAttacks covers the RFC 8725 attack classes: each forged or
// broken token is refused with the exact reason, before any network use
// where the reason is a cheap one.
func TestReviewAttacks(t *testing.T) {
	k := testissuer.NewKey("RS256")
	attacker := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	evil := testissuer.Start(t, attacker) // counts every request it gets
	iss := srv.URL()

	hmacSecret := []byte("0123456789abcdef0123456789abcdef")
	srv.AddRawJWK(obj{"kty": "oct", "kid": "hmac", "alg": "HS256", "use": "sig", "k": b64url(hmacSecret)})

	a := newAuthenticator(t, nil, issuerFor(srv, []string{"k8s"}, nil))
	good := claimsWith(iss, "k8s", "alice", nil)
	goodTok := srv.Token(k, good)
	gh, gp, gs := segments(goodTok)
	hdr := func(extra obj) obj {
		h := obj{"alg": "RS256", "kid": k.Kid, "typ": "JWT"}
		for n, v := range extra {
			h[n] = v
		}
		return h
	}
	payloadJSON := mustJSON(good)
	withPayload := func(p string) string { return testissuer.SignRaw(k, mustJSON(hdr(nil)), []byte(p)) }
	replace := func(p, old, new string) string {
		if !strings.Contains(p, old) {
			t.Fatalf("%q not in payload", old)
		}
		return strings.Replace(p, old, new, 1)
	}
	ps := string(payloadJSON)
	flip := func(s string, i int) string { // change one base64url character, keeping the length
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	alteredPayload := mustJSON(claimsWith(iss, "k8s", "mallory", nil))
	jwkSecret := mustJSON(k.JWK("RS256", "sig"))
	huge := claimsWith(iss, "k8s", "alice", obj{"pad": strings.Repeat("x", 13000)})

	cases := []struct {
		name   string
		token  string
		reason decision.Reason
	}{
		{"alg none without signature", testissuer.Sign(k, obj{"alg": "none"}, good), decision.Malformed},
		{"alg none with a signature", testissuer.Sign(k, obj{"alg": "none"}, good) + gs, decision.AlgNotAllowed},
		{"alg None with the real signature", b64url(mustJSON(obj{"alg": "None", "kid": k.Kid})) + "." + gp + "." + gs, decision.AlgNotAllowed},
		{"HS256 keyed with the RSA public key PEM", testissuer.Sign(k, hdr(obj{"alg": "HS256"}), good), decision.AlgNotAllowed},
		{"HS256 keyed with the RSA public JWK", testissuer.SignHMAC(jwkSecret, hdr(obj{"alg": "HS256"}), good), decision.AlgNotAllowed},
		{"HS256 with the oct key of the JWKS", testissuer.SignHMAC(hmacSecret, obj{"alg": "HS256", "kid": "hmac"}, good), decision.AlgNotAllowed},
		{"RS256 naming the oct key", testissuer.Sign(k, obj{"alg": "RS256", "kid": "hmac"}, good), decision.UnknownKey},
		{"embedded jwk of the attacker, attacker kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": attacker.Kid, "jwk": attacker.JWK("RS256", "sig")}, good), decision.UnknownKey},
		{"jku and x5u of the attacker, attacker kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": attacker.Kid, "jku": evil.JWKSURL(), "x5u": evil.URL() + "/x5u"}, good), decision.UnknownKey},
		{"embedded jwk, jku, x5c with the issuer's kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": k.Kid, "jwk": attacker.JWK("RS256", "sig"), "jku": evil.JWKSURL(), "x5c": []string{"MIIB"}}, good), decision.BadSignature},
		{"stripped signature", gh + "." + gp + ".", decision.Malformed},
		{"altered signature", gh + "." + gp + "." + flip(gs, 10), decision.BadSignature},
		{"altered payload", gh + "." + b64url(alteredPayload) + "." + gs, decision.BadSignature},
		{"signature with padding", gh + "." + gp + "." + gs + "==", decision.Malformed},
		{"non-canonical base64 trailing bits", gh + "." + gp + "." + gs[:len(gs)-1] + nonCanonical(gs), decision.Malformed},
		{"newline inside a segment", gh + "." + gp[:5] + "\n" + gp[5:] + "." + gs, decision.Malformed},
		{"standard base64 alphabet", gh + "." + strings.ReplaceAll(strings.ReplaceAll(gp, "-", "+"), "_", "/") + "/." + gs, decision.Malformed},
		{"JSON serialization", `{"payload":"` + gp + `"}`, decision.Malformed},
		{"unknown crit", testissuer.Sign(k, hdr(obj{"crit": []string{"exp"}, "exp": 1}), good), decision.Malformed},
		{"empty crit", testissuer.Sign(k, hdr(obj{"crit": []string{}}), good), decision.Malformed},
		{"duplicate alg in the header", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":"`+k.Kid+`","alg":"none"}`), payloadJSON), decision.Malformed},
		{"duplicate jku in the header", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":"`+k.Kid+`","jku":"a","jku":"b"}`), payloadJSON), decision.Malformed},
		{"duplicate iss in the payload", withPayload(replace(ps, `"iss":`, `"iss":"https://evil.example.com","iss":`)), decision.Malformed},
		{"duplicate member in a nested object", withPayload(replace(ps, `"sub":"alice"`, `"sub":"alice","o":{"a":1,"a":2}`)), decision.Malformed},
		{"header without alg", testissuer.SignRaw(k, []byte(`{"kid":"`+k.Kid+`"}`), payloadJSON), decision.Malformed},
		{"alg not a string", testissuer.SignRaw(k, []byte(`{"alg":["RS256"],"kid":"`+k.Kid+`"}`), payloadJSON), decision.Malformed},
		{"kid not a string", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":7}`), payloadJSON), decision.Malformed},
		{"kid null", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":null}`), payloadJSON), decision.Malformed},
		{"header is an array", testissuer.SignRaw(k, []byte(`["RS256"]`), payloadJSON), decision.Malformed},
		{"payload is an array", withPayload(`[` + ps + `]`), decision.Malformed},
		{"payload is null", withPayload(`null`), decision.Malformed},
		{"payload with trailing data", withPayload(ps + `{}`), decision.Malformed},
		{"payload with invalid UTF-8", withPayload(replace(ps, `"alice"`, "\"al\xffice\"")), decision.Malformed},
		{"huge token", srv.Token(k, huge), decision.Malformed},
		{"deeply nested payload", withPayload(replace(ps, `"sub":"alice"`, `"sub":"alice","n":`+strings.Repeat("[", 40)+strings.Repeat("]", 40))), decision.Malformed},
		{"exp as a string", withPayload(replace(ps, `"exp":`, `"exp":"9999999999","x":`)), decision.Malformed},
		{"aud as a number", srv.Token(k, claimsWith(iss, 7, "alice", nil)), decision.Malformed},
		{"aud array with a number", srv.Token(k, claimsWith(iss, []any{"k8s", 7}, "alice", nil)), decision.Malformed},
		{"aud null", withPayload(replace(ps, `"aud":"k8s"`, `"aud":null`)), decision.Malformed},
		{"iss as a number", srv.Token(k, claimsWith("", "k8s", "alice", obj{"iss": 1})), decision.Malformed},
		{"no iss", withPayload(replace(ps, `"iss":`, `"isx":`)), decision.Malformed},
		{"two segments", gh + "." + gp, decision.Malformed},
		{"four segments", goodTok + "." + gs, decision.Malformed},
		{"empty header segment", "." + gp + "." + gs, decision.Malformed},
		{"empty token", "", decision.Malformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := a.Review(t.Context(), tc.token, nil)
			wantOutcome(t, got, decision.Denied, tc.reason)
			if tc.token != "" && strings.Contains(got.Message, tc.token) {
				t.Fatalf("message contains the token")
			}
			for _, seg := range strings.Split(tc.token, ".") {
				if len(seg) >= 16 && strings.Contains(got.Message, seg) {
					t.Fatalf("message contains a segment of the token: %s", got.Message)
				}
			}
		})
	}
	if got := a.Review(t.Context(), goodTok, nil); got.Outcome != decision.Authenticated {
		t.Fatalf("control token: %s/%s %s", got.Outcome, got.Reason, got.Message)
	}
	if n := evil.Fetches() + evil.DiscoveryFetches() + evil.Requests("/x5u"); n != 0 {
		t.Fatalf("the attacker's server was contacted %d times", n)
	}
}

// nonCanonical returns a base64url character that decodes like the last
// character of s for the bits that matter but sets a trailing bit.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return string(alphabet[last|1])
}

// TestReviewCrossIssuerKid: a token claiming issuer B, signed with issuer
// A's key under A's kid, finds no key: B's set holds only B's keys.
func TestReviewCrossIssuerKid(t *testing.T) {
	ka, ka2, kb := testissuer.NewKey("RS256"), testissuer.NewKey("RS256"), testissuer.NewKey("RS256")
	collide := testissuer.NewKey("RS256").WithKid(ka2.Kid) // B publishes A's second kid, with its own key
	srvA, srvB := testissuer.Start(t, ka, ka2), testissuer.Start(t, kb, collide)
	a := newAuthenticator(t, nil,
		issuerFor(srvA, []string{"k8s"}, nil),
		issuerFor(srvB, []string{"k8s"}, nil))

	forged := srvA.Token(ka, claimsWith(srvB.URL(), "k8s", "alice", nil))
	got := a.Review(t.Context(), forged, nil)
	wantOutcome(t, got, decision.Denied, decision.UnknownKey)
	if got.Issuer != srvB.URL() || got.KeyID != ka.Kid || got.Algorithm != "RS256" {
		t.Fatalf("result facts = %q %q %q", got.Issuer, got.KeyID, got.Algorithm)
	}
	// Same kid published by both: B's key is used, so the signature fails.
	forged2 := srvA.Token(ka2, claimsWith(srvB.URL(), "k8s", "alice", nil))
	wantOutcome(t, a.Review(t.Context(), forged2, nil), decision.Denied, decision.BadSignature)

	for srv, k := range map[*testissuer.Server]*testissuer.Key{srvA: ka, srvB: kb} {
		got := a.Review(t.Context(), srv.Token(k, claimsWith(srv.URL(), "k8s", "alice", nil)), nil)
		if got.Outcome != decision.Authenticated || got.Issuer != srv.URL() || got.KeyID != k.Kid {
			t.Fatalf("control token of %s: %s/%s", srv.URL(), got.Outcome, got.Reason)
		}
	}
}

// TestParseDepth: 32 levels of nesting are accepted, 33 refused; brackets
// inside strings do not count.
func TestParseDepth(t *testing.T) {
	for _, tc := range []struct {
		levels int
		err    error
	}{{32, nil}, {33, errJSONDepth}} { // the top-level object is level 1
		p := []byte(`{"a":` + strings.Repeat(`[`, tc.levels-1) + `1` + strings.Repeat("]", tc.levels-1) + `}`)
		if _, err := parseObject(p); err != tc.err {
			t.Errorf("%d levels: err = %v, want %v", tc.levels, err, tc.err)
		}
	}
	if _, err := parseObject([]byte(`{"s":"` + strings.Repeat("[{", 40) + `"}`)); err != nil {
		t.Errorf("brackets inside a string: %v", err)
	}
}

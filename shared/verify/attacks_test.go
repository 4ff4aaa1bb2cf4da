package verify

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/testissuer"
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

// attackFixture is an issuer (with an oct key slipped into its JWKS), an
// attacker's issuer that counts every request it gets, and a valid token
// to derive forgeries from.
type attackFixture struct {
	k, attacker *testissuer.Key
	srv, evil   *testissuer.Server
	iss         string
	a           *Authenticator
	hmacSecret  []byte
	good        obj
	goodTok     string
	gh, gp, gs  string // the valid token's segments
	ps          string // the valid token's payload JSON
}

func newAttackFixture(t *testing.T) *attackFixture {
	f := &attackFixture{k: testissuer.NewKey("RS256"), attacker: testissuer.NewKey("RS256")}
	f.srv = testissuer.Start(t, f.k)
	f.evil = testissuer.Start(t, f.attacker)
	f.iss = f.srv.URL()
	f.hmacSecret = []byte("0123456789abcdef0123456789abcdef")
	f.srv.AddRawJWK(obj{"kty": "oct", "kid": "hmac", "alg": "HS256", "use": "sig", "k": b64url(f.hmacSecret)})
	f.a = newAuthenticator(t, nil, issuerFor(f.srv, []string{"k8s"}, nil))
	f.good = claimsWith(f.iss, "k8s", "alice", nil)
	f.goodTok = f.srv.Token(f.k, f.good)
	f.gh, f.gp, f.gs = segments(f.goodTok)
	f.ps = string(mustJSON(f.good))
	return f
}

// hdr is the valid token's header plus extra members.
func (f *attackFixture) hdr(extra obj) obj {
	h := obj{"alg": "RS256", "kid": f.k.Kid, "typ": "JWT"}
	for n, v := range extra {
		h[n] = v
	}
	return h
}

// withPayload signs payload JSON, byte for byte, with the issuer's key.
func (f *attackFixture) withPayload(payload string) string {
	return testissuer.SignRaw(f.k, mustJSON(f.hdr(nil)), []byte(payload))
}

// edit returns the valid payload JSON with old replaced by new once.
func (f *attackFixture) edit(t *testing.T, old, new string) string {
	if !strings.Contains(f.ps, old) {
		t.Fatalf("%q not in payload", old)
	}
	return strings.Replace(f.ps, old, new, 1)
}

type attackCase struct {
	name   string
	token  string
	reason decision.Reason
}

// run reviews each case, expecting a denial with the exact reason and a
// message free of the token and its segments; then checks that the valid
// token still passes and the attacker's server was never contacted.
func (f *attackFixture) run(t *testing.T, cases []attackCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := f.a.Review(t.Context(), tc.token, nil)
			wantOutcome(t, got, decision.Denied, tc.reason)
			for _, seg := range append(strings.Split(tc.token, "."), tc.token) {
				if len(seg) >= 16 && strings.Contains(got.Message, seg) {
					t.Fatalf("message contains the token or a segment: %s", got.Message)
				}
			}
		})
	}
	if got := f.a.Review(t.Context(), f.goodTok, nil); got.Outcome != decision.Authenticated {
		t.Fatalf("control token: %s/%s %s", got.Outcome, got.Reason, got.Message)
	}
	if n := f.evil.Fetches() + f.evil.DiscoveryFetches() + f.evil.Requests("/x5u"); n != 0 {
		t.Fatalf("the attacker's server was contacted %d times", n)
	}
}

// TestAttacksAlgorithmsAndKeys: alg none, HMAC key confusion, and keys
// named or embedded by the token (RFC 8725 §2.1, §2.7, §3.1, §3.10).
func TestAttacksAlgorithmsAndKeys(t *testing.T) {
	f := newAttackFixture(t)
	k, attacker, evil := f.k, f.attacker, f.evil
	f.run(t, []attackCase{
		{"alg none without signature", testissuer.Sign(k, obj{"alg": "none"}, f.good), decision.Malformed},
		{"alg none with a signature", testissuer.Sign(k, obj{"alg": "none"}, f.good) + f.gs, decision.AlgNotAllowed},
		{"alg None with the real signature", b64url(mustJSON(obj{"alg": "None", "kid": k.Kid})) + "." + f.gp + "." + f.gs, decision.AlgNotAllowed},
		{"HS256 keyed with the RSA public key PEM", testissuer.Sign(k, f.hdr(obj{"alg": "HS256"}), f.good), decision.AlgNotAllowed},
		{"HS256 keyed with the RSA public JWK", testissuer.SignHMAC(mustJSON(k.JWK("RS256", "sig")), f.hdr(obj{"alg": "HS256"}), f.good), decision.AlgNotAllowed},
		{"HS256 with the oct key of the JWKS", testissuer.SignHMAC(f.hmacSecret, obj{"alg": "HS256", "kid": "hmac"}, f.good), decision.AlgNotAllowed},
		{"RS256 naming the oct key", testissuer.Sign(k, obj{"alg": "RS256", "kid": "hmac"}, f.good), decision.UnknownKey},
		{"embedded jwk of the attacker, attacker kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": attacker.Kid, "jwk": attacker.JWK("RS256", "sig")}, f.good), decision.UnknownKey},
		{"jku and x5u of the attacker, attacker kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": attacker.Kid, "jku": evil.JWKSURL(), "x5u": evil.URL() + "/x5u"}, f.good), decision.UnknownKey},
		{"embedded jwk, jku, x5c with the issuer's kid", testissuer.Sign(attacker, obj{"alg": "RS256", "kid": k.Kid, "jwk": attacker.JWK("RS256", "sig"), "jku": evil.JWKSURL(), "x5c": []string{"MIIB"}}, f.good), decision.BadSignature},
	})
}

// TestAttacksFraming: the compact serialization itself: segments, their
// encoding, the size cap, and tampering with signed bytes.
func TestAttacksFraming(t *testing.T) {
	f := newAttackFixture(t)
	gh, gp, gs := f.gh, f.gp, f.gs
	huge := claimsWith(f.iss, "k8s", "alice", obj{"pad": strings.Repeat("x", 13000)})
	f.run(t, []attackCase{
		{"stripped signature", gh + "." + gp + ".", decision.Malformed},
		{"altered signature", gh + "." + gp + "." + flip(gs, 10), decision.BadSignature},
		{"altered payload", gh + "." + b64url(mustJSON(claimsWith(f.iss, "k8s", "mallory", nil))) + "." + gs, decision.BadSignature},
		{"signature with padding", gh + "." + gp + "." + gs + "==", decision.Malformed},
		{"non-canonical base64 trailing bits", gh + "." + gp + "." + gs[:len(gs)-1] + nonCanonical(gs), decision.Malformed},
		{"newline inside a segment", gh + "." + gp[:5] + "\n" + gp[5:] + "." + gs, decision.Malformed},
		{"standard base64 alphabet", gh + "." + strings.ReplaceAll(strings.ReplaceAll(gp, "-", "+"), "_", "/") + "/." + gs, decision.Malformed},
		{"JSON serialization", `{"payload":"` + gp + `"}`, decision.Malformed},
		{"two segments", gh + "." + gp, decision.Malformed},
		{"four segments", f.goodTok + "." + gs, decision.Malformed},
		{"empty header segment", "." + gp + "." + gs, decision.Malformed},
		{"empty token", "", decision.Malformed},
		{"huge token", f.srv.Token(f.k, huge), decision.Malformed},
	})
}

// TestAttacksJSON: the header and payload JSON: crit, duplicate members
// (parser differentials), types of the registered claims, nesting.
func TestAttacksJSON(t *testing.T) {
	f := newAttackFixture(t)
	k, iss := f.k, f.iss
	payload := []byte(f.ps)
	kidJSON := `"kid":"` + k.Kid + `"`
	f.run(t, []attackCase{
		{"unknown crit", testissuer.Sign(k, f.hdr(obj{"crit": []string{"exp"}, "exp": 1}), f.good), decision.Malformed},
		{"empty crit", testissuer.Sign(k, f.hdr(obj{"crit": []string{}}), f.good), decision.Malformed},
		{"duplicate alg in the header", testissuer.SignRaw(k, []byte(`{"alg":"RS256",`+kidJSON+`,"alg":"none"}`), payload), decision.Malformed},
		{"duplicate jku in the header", testissuer.SignRaw(k, []byte(`{"alg":"RS256",`+kidJSON+`,"jku":"a","jku":"b"}`), payload), decision.Malformed},
		{"duplicate iss in the payload", f.withPayload(f.edit(t, `"iss":`, `"iss":"https://evil.example.com","iss":`)), decision.Malformed},
		{"duplicate member in a nested object", f.withPayload(f.edit(t, `"sub":"alice"`, `"sub":"alice","o":{"a":1,"a":2}`)), decision.Malformed},
		{"header without alg", testissuer.SignRaw(k, []byte(`{`+kidJSON+`}`), payload), decision.Malformed},
		{"alg not a string", testissuer.SignRaw(k, []byte(`{"alg":["RS256"],`+kidJSON+`}`), payload), decision.Malformed},
		{"kid not a string", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":7}`), payload), decision.Malformed},
		{"kid null", testissuer.SignRaw(k, []byte(`{"alg":"RS256","kid":null}`), payload), decision.Malformed},
		{"header is an array", testissuer.SignRaw(k, []byte(`["RS256"]`), payload), decision.Malformed},
		{"payload is an array", f.withPayload(`[` + f.ps + `]`), decision.Malformed},
		{"payload is null", f.withPayload(`null`), decision.Malformed},
		{"payload with trailing data", f.withPayload(f.ps + `{}`), decision.Malformed},
		{"payload with invalid UTF-8", f.withPayload(f.edit(t, `"alice"`, "\"al\xffice\"")), decision.Malformed},
		{"deeply nested payload", f.withPayload(f.edit(t, `"sub":"alice"`, `"sub":"alice","n":`+strings.Repeat("[", 40)+strings.Repeat("]", 40))), decision.Malformed},
		{"exp as a string", f.withPayload(f.edit(t, `"exp":`, `"exp":"9999999999","x":`)), decision.Malformed},
		{"aud as a number", f.srv.Token(k, claimsWith(iss, 7, "alice", nil)), decision.Malformed},
		{"aud array with a number", f.srv.Token(k, claimsWith(iss, []any{"k8s", 7}, "alice", nil)), decision.Malformed},
		{"aud null", f.withPayload(f.edit(t, `"aud":"k8s"`, `"aud":null`)), decision.Malformed},
		{"iss as a number", f.srv.Token(k, claimsWith("", "k8s", "alice", obj{"iss": 1})), decision.Malformed},
		{"no iss", f.withPayload(f.edit(t, `"iss":`, `"isx":`)), decision.Malformed},
	})
}

// flip changes one base64url character of s, keeping its length.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
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

package keys

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/testissuer"
)

// A malformed key (not merely unsupported) makes jwkset refuse the whole
// set: the fetch fails and the previous keys stay. Before keys used
// jwkset's HTTP storage, such a key was skipped and the others kept.
func TestMalformedRemoteKeyFailsTheFetch(t *testing.T) {
	good, next := testissuer.NewKey("RS256"), testissuer.NewKey("ES256")
	h := start(t, good)
	broken := map[string]any{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}
	h.srv.SetKeys(good, next)
	h.srv.AddRawJWK(broken)
	mustErr(t, h.set, next.Kid, "ES256", ErrUnavailable) // the refresh failed: next is not installed
	wantFetches(t, h.srv, 2)
	mustKey(t, h.set, good.Kid, "RS256", good.Public())
	if st := h.set.Stats(); st.Fetches != 2 || st.Failures != 1 || st.Keys != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	errs := h.log.all()
	if len(errs) != 2 || errs[1] == nil || !strings.Contains(errs[1].Error(), `failed to decode RSA key parameter "n"`) {
		t.Fatalf("OnFetch = %v", errs)
	}

	// At start, the issuer is not ready.
	srv := testissuer.Start(t, good)
	srv.AddRawJWK(broken)
	notReady(t, newHarness(t, authn(srv), srv), `failed to decode RSA key parameter "n"`)
}

// Keys jwkset does not support are skipped by jwkset itself; so are keys
// with a use or key_ops value jwkset would otherwise refuse the set for.
func TestUnsupportedAndOddKeysSkippedOthersKept(t *testing.T) {
	good := testissuer.NewKey("ES384")
	srv := testissuer.Start(t, good)
	x := base64.RawURLEncoding.EncodeToString(make([]byte, 57))
	srv.AddRawJWK(map[string]any{"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": x})
	srv.AddRawJWK(map[string]any{"kty": "EC", "crv": "secp256k1", "kid": "k1", "x": "AQ", "y": "AQ"})
	srv.AddRawJWK(map[string]any{"kty": "XYZ", "kid": "xyz"})
	oddUse := testissuer.NewKey("RS256")
	srv.AddRawJWK(oddUse.JWK("", "wrap"))
	oddOps := testissuer.NewKey("EdDSA")
	opsJWK := oddOps.JWK("EdDSA", "sig")
	opsJWK["key_ops"] = []string{"frobnicate"}
	srv.AddRawJWK(opsJWK)
	h := newHarness(t, authn(srv), srv)

	mustKey(t, h.set, good.Kid, "ES384", good.Public())
	if st := h.set.Stats(); st.Keys != 1 || st.Kids[0] != good.Kid {
		t.Fatalf("Stats = %+v, want only %s", st, good.Kid)
	}
	h.clock.advance(0)
	for _, c := range []struct{ kid, alg string }{{"ed448", "EdDSA"}, {"k1", "ES256"}, {oddUse.Kid, "RS256"}, {oddOps.Kid, "EdDSA"}} {
		mustErr(t, h.set, c.kid, c.alg, ErrUnknownKey)
	}
}

// jwkset parses an RSA "d" without the CRT members as a public key and
// drops it; the key was still published with its private exponent and
// must never verify. A complete private RSA JWK is refused too.
func TestPublishedPrivateRSARefused(t *testing.T) {
	good := testissuer.NewKey("PS256")
	bare, full := testissuer.NewKey("RS256"), testissuer.NewKey("RS256")
	srv := testissuer.Start(t, good)
	bareJWK := bare.JWK("RS256", "sig")
	bareJWK["d"] = base64.RawURLEncoding.EncodeToString(bare.Private.(*rsa.PrivateKey).D.Bytes())
	srv.AddRawJWK(bareJWK)
	fullJWK, err := jwkset.NewJWKFromKey(full.Private, jwkset.JWKOptions{
		Marshal:  jwkset.JWKMarshalOptions{Private: true},
		Metadata: jwkset.JWKMetadataOptions{KID: full.Kid},
	})
	if err != nil {
		t.Fatal(err)
	}
	var fullMap map[string]any
	b, _ := json.Marshal(fullJWK.Marshal())
	if err := json.Unmarshal(b, &fullMap); err != nil || fullMap["p"] == nil {
		t.Fatalf("private JWK %v: %v", fullMap, err)
	}
	srv.AddRawJWK(fullMap)
	h := newHarness(t, authn(srv), srv)

	mustKey(t, h.set, good.Kid, "PS256", good.Public())
	if st := h.set.Stats(); st.Keys != 1 {
		t.Fatalf("Stats = %+v, want only %s", st, good.Kid)
	}
	h.clock.advance(0)
	mustErr(t, h.set, bare.Kid, "RS256", ErrUnknownKey)
	mustErr(t, h.set, full.Kid, "RS256", ErrUnknownKey)

	// The same in a static set.
	j := &config.JWTAuthenticator{Issuer: config.Issuer{URL: "https://static.invalid",
		JWKS: json.RawMessage(`{"keys":[` + string(mustJSON(t, bareJWK)) + `]}`)}}
	if set, err := New(t.Context(), j, Options{}); err == nil || set != nil || !strings.Contains(err.Error(), "no usable signature key") {
		t.Fatalf("New = %v, %v; want no usable signature key", set, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwkset reads {} (or a lone JWK) as an empty set; installing it would
// revoke every key. It is a failed fetch instead. {"keys":[]} is a real
// empty set and does revoke.
func TestJWKSWithoutKeysArrayIsAFailure(t *testing.T) {
	k := testissuer.NewKey("EdDSA")
	h := start(t, k)
	for i, body := range []string{`{}`, `{"keys":null}`, string(mustJSONKey(k))} {
		h.srv.SetJWKSBody([]byte(body))
		h.clock.advance(h.set.minRefresh)
		mustErr(t, h.set, "new", "EdDSA", ErrUnavailable) // a failed refresh
		mustKey(t, h.set, k.Kid, "EdDSA", k.Public())
		errs := h.log.all()
		if len(errs) != i+2 || errs[i+1] == nil || !strings.Contains(errs[i+1].Error(), `JWK Set has no "keys" array`) {
			t.Fatalf("body %s: OnFetch = %v", body, errs)
		}
	}
	h.srv.SetJWKSBody([]byte(`{"keys":[]}`))
	h.clock.advance(h.set.minRefresh)
	mustErr(t, h.set, k.Kid+"x", "EdDSA", ErrUnknownKey)
	if st := h.set.Stats(); st.Keys != 0 || !h.set.Ready() {
		t.Fatalf("Stats = %+v after an empty set", st)
	}
	mustErr(t, h.set, k.Kid, "EdDSA", ErrUnknownKey)
}

// Two keys may share a kid across key types: keyfunc reads only the first
// key of a kid, so the second is judged by a keyfunc over it alone, and
// both serve their own alg.
func TestSharedKidAcrossKeyTypes(t *testing.T) {
	rs, es := testissuer.NewKey("RS256"), testissuer.NewKey("ES256")
	es.Kid = rs.Kid
	encFirst := testissuer.NewKey("RS256")
	sigSecond := testissuer.NewKey("EdDSA").WithKid(encFirst.Kid)
	srv := testissuer.Start(t, rs, es)
	srv.AddRawJWK(encFirst.JWK("", "enc"))
	srv.AddRawJWK(sigSecond.JWK("EdDSA", "sig"))
	h := newHarness(t, authn(srv), srv)
	mustKey(t, h.set, rs.Kid, "RS256", rs.Public())
	mustKey(t, h.set, rs.Kid, "ES256", es.Public())
	mustKey(t, h.set, encFirst.Kid, "EdDSA", sigSecond.Public())
	if st := h.set.Stats(); st.Keys != 3 {
		t.Fatalf("Stats = %+v", st)
	}
	h.clock.advance(0)
	mustErr(t, h.set, encFirst.Kid, "RS256", ErrUnknownKey)
}

// goroutinesFromJWKSet counts the goroutines jwkset started (its refresh
// ticker), from a dump of all stacks.
func goroutinesFromJWKSet() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "created by github.com/MicahParks/jwkset.")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// With RefreshInterval 0, jwkset starts no goroutine, neither on success
// nor on failure. The detector is checked on a storage with a refresh
// interval, whose goroutine lives until its ctx is cancelled.
func TestNoJWKSetGoroutine(t *testing.T) {
	k := testissuer.NewKey("RS256")
	h := start(t, k)
	h.srv.FailWith(500)
	h.clock.advance(h.set.minRefresh)
	mustErr(t, h.set, "new", "RS256", ErrUnavailable)
	if st := h.set.Stats(); st.Fetches != 2 || st.Failures != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	if n := goroutinesFromJWKSet(); n != 0 {
		t.Fatalf("%d goroutines started by jwkset are running", n)
	}

	h.srv.FailWith(0)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := jwkset.NewStorageFromHTTP(h.srv.JWKSURL(), jwkset.HTTPClientStorageOptions{
		Client: h.srv.Client(), Ctx: ctx, RefreshInterval: time.Hour, HTTPTimeout: 5 * time.Second,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if n := goroutinesFromJWKSet(); n != 1 {
		cancel()
		t.Fatalf("detector saw %d jwkset goroutines with RefreshInterval set, want 1", n)
	}
	cancel()
	eventually(t, "the jwkset refresh goroutine to end", func() bool { return goroutinesFromJWKSet() == 0 })
}

func TestStaticUnsupportedKeyIsAnError(t *testing.T) {
	k := testissuer.NewKey("ES256")
	x := base64.RawURLEncoding.EncodeToString(make([]byte, 57))
	raw := `{"keys":[` + string(mustJSONKey(k)) + `,{"kty":"OKP","crv":"Ed448","x":"` + x + `"}]}`
	j := &config.JWTAuthenticator{Issuer: config.Issuer{URL: "https://static.invalid", JWKS: json.RawMessage(raw)}}
	set, err := New(t.Context(), j, Options{})
	if err == nil || set != nil || !strings.Contains(err.Error(), "static jwks: key 1: ") || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("New = %v, %v; want key 1 unsupported", set, err)
	}
}

// jwkset's decoder stops after the first JSON value; the cap still counts
// the whole body, so a set followed by more than 1 MiB of anything is
// refused, not truncated and accepted.
func TestOversizeBodyAfterTheSetRefused(t *testing.T) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)
	srv.SetJWKSBody([]byte(string(testissuer.JWKS(k)) + strings.Repeat(" ", maxBody)))
	h := newHarness(t, authn(srv), srv)
	notReady(t, h, "exceeds the 1048576-byte limit")
	wantFetches(t, srv, 1)
}

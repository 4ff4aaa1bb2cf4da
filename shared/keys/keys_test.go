package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/MicahParks/jwkset"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/testissuer"
)

func TestDiscoveryHappyPath(t *testing.T) {
	rs, es, ed := testissuer.NewKey("RS256"), testissuer.NewKey("ES256"), testissuer.NewKey("EdDSA")
	h := start(t, rs, es, ed)
	if !h.set.Ready() {
		t.Fatal("not ready after a good prefetch")
	}
	mustKey(t, h.set, rs.Kid, "RS256", rs.Public())
	mustKey(t, h.set, es.Kid, "ES256", es.Public())
	mustKey(t, h.set, ed.Kid, "EdDSA", ed.Public())
	if h.srv.DiscoveryFetches() != 1 {
		t.Fatalf("discovery fetched %d times, want 1", h.srv.DiscoveryFetches())
	}
	wantFetches(t, h.srv, 1)
	if errs := h.log.all(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("OnFetch calls = %v, want one nil", errs)
	}
	st := h.set.Stats()
	if st.Issuer != h.srv.URL() || st.Static || st.Fetches != 1 || st.Failures != 0 || st.Keys != 3 ||
		!st.LastSuccess.Equal(h.clock.now()) || len(st.Kids) != 3 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDirectJWKSURLSkipsDiscovery(t *testing.T) {
	k := testissuer.NewKey("PS384")
	srv := testissuer.Start(t, k)
	j := authn(srv)
	j.Issuer.JWKSURL = srv.JWKSURL()
	h := newHarness(t, j, srv)
	mustKey(t, h.set, k.Kid, "PS384", k.Public())
	if srv.DiscoveryFetches() != 0 {
		t.Fatalf("discovery fetched %d times with jwksURL set", srv.DiscoveryFetches())
	}
}

func TestDiscoveryURLOverride(t *testing.T) {
	k := testissuer.NewKey("ES512")
	srv := testissuer.Start(t, k)
	j := authn(srv)
	j.Issuer.URL = "https://issuer.example" // the document must claim this issuer
	srv.SetDiscovery("https://issuer.example", "")
	u := srv.DiscoveryURL()
	j.Issuer.DiscoveryURL = &u
	h := newHarness(t, j, srv)
	mustKey(t, h.set, k.Kid, "ES512", k.Public())
}

// notReady asserts a Set whose prefetch failed with an error containing msg.
func notReady(t *testing.T, h *harness, msg string) {
	t.Helper()
	if h.set.Ready() {
		t.Fatal("Ready() after a failed fetch")
	}
	errs := h.log.all()
	if len(errs) != 1 || errs[0] == nil || !strings.Contains(errs[0].Error(), msg) {
		t.Fatalf("OnFetch errors = %v, want one containing %q", errs, msg)
	}
	if st := h.set.Stats(); st.Fetches != 1 || st.Failures != 1 || st.Keys != 0 || !st.LastSuccess.IsZero() {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDiscoveryIssuerMismatchRefused(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	srv.SetDiscovery(srv.URL()+"/", "") // a trailing slash is already a different issuer
	h := newHarness(t, authn(srv), srv)
	notReady(t, h, "does not equal the configured issuer")
	wantFetches(t, srv, 0) // the keys it points to are never even fetched
	mustErr(t, h.set, k.Kid, "RS256", ErrNoKeys)
}

func TestDiscoveryHTTPJWKSURIRefused(t *testing.T) {
	k := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, k)
	srv.SetDiscovery("", strings.Replace(srv.JWKSURL(), "https:", "http:", 1))
	h := newHarness(t, authn(srv), srv)
	notReady(t, h, "must be an absolute https URL")
	wantFetches(t, srv, 0)
}

func TestCustomCATrustedAndRequired(t *testing.T) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(t, k)

	good := newHarness(t, authn(srv), srv)
	mustKey(t, good.set, k.Kid, "ES256", k.Public())

	// Same server, system roots only: the self-signed certificate fails.
	j := authn(srv)
	j.Issuer.CertificateAuthority = ""
	notReady(t, newHarness(t, j, srv), "certificate")

	// Another CA than the issuer's: refused too (the CA is the only trust).
	other := testissuer.Start(t)
	j = authn(srv)
	j.Issuer.CertificateAuthority = other.CAPEM()
	notReady(t, newHarness(t, j, srv), "certificate")
}

func TestRedirectToHTTPRefused(t *testing.T) {
	red := httptest.NewTLSServer(http.RedirectHandler("http://127.0.0.1:1/jwks", http.StatusFound))
	t.Cleanup(red.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: red.Certificate().Raw})
	j := &config.JWTAuthenticator{Issuer: config.Issuer{URL: red.URL, JWKSURL: red.URL + "/jwks", CertificateAuthority: string(caPEM)}}
	notReady(t, newHarness(t, j, nil), "redirect to non-https URL")
}

func TestConfigurationErrors(t *testing.T) {
	srv := testissuer.Start(t)
	k := testissuer.NewKey("RS256")
	oct := `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0","kid":"s"}]}`
	cases := []struct {
		name, want string
		mutate     func(j *config.JWTAuthenticator)
	}{
		{"bad CA PEM", "certificateAuthority holds no PEM certificate",
			func(j *config.JWTAuthenticator) { j.Issuer.CertificateAuthority = "not a pem" }},
		{"http jwksURL", `jwksURL "http://127.0.0.1/jwks": must be an absolute https URL`,
			func(j *config.JWTAuthenticator) { j.Issuer.JWKSURL = "http://127.0.0.1/jwks" }},
		{"http issuer", "discovery URL \"http://127.0.0.1/.well-known/openid-configuration\": must be an absolute https URL",
			func(j *config.JWTAuthenticator) { j.Issuer.URL = "http://127.0.0.1" }},
		{"static oct only", "static jwks: no usable signature key",
			func(j *config.JWTAuthenticator) { j.Issuer.JWKS = json.RawMessage(oct) }},
		{"static empty", "static jwks: no usable signature key",
			func(j *config.JWTAuthenticator) { j.Issuer.JWKS = json.RawMessage(`{"keys":[]}`) }},
		{"static no keys array", `static jwks: must have a "keys" list`,
			func(j *config.JWTAuthenticator) { j.Issuer.JWKS = json.RawMessage(`{"kty":"RSA"}`) }},
		{"static broken key", `static jwks: key 0: `,
			func(j *config.JWTAuthenticator) {
				j.Issuer.JWKS = json.RawMessage(`{"keys":[{"kty":"RSA","n":"AQAB"}]}`)
			}},
		{"static with jwksURL", "jwks excludes jwksURL and discoveryURL", func(j *config.JWTAuthenticator) {
			j.Issuer.JWKS = testissuer.JWKS(k)
			j.Issuer.JWKSURL = srv.JWKSURL()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := authn(srv)
			c.mutate(j)
			set, err := New(t.Context(), j, Options{})
			if err == nil || set != nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", set, err, c.want)
			}
		})
	}
	if srv.Fetches()+srv.DiscoveryFetches() != 0 {
		t.Fatal("a configuration error still reached the network")
	}
}

func TestStaticJWKS(t *testing.T) {
	rs, ed := testissuer.NewKey("RS512"), testissuer.NewKey("EdDSA")
	jwks := testissuer.JWKS(rs, ed)
	quoted, _ := json.Marshal(string(jwks))
	for name, raw := range map[string][]byte{"object": jwks, "string": quoted} {
		t.Run(name, func(t *testing.T) {
			j := &config.JWTAuthenticator{Issuer: config.Issuer{URL: "https://unreachable.invalid", JWKS: raw}}
			// A client that fails every request proves no network is used.
			noNet := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				t.Error("static JWKS made a request")
				return nil, http.ErrNotSupported
			})}
			set, err := New(t.Context(), j, Options{HTTPClient: noNet})
			if err != nil {
				t.Fatal(err)
			}
			if !set.Ready() || !set.Stats().Static || set.Stats().Keys != 2 {
				t.Fatalf("Ready %v Stats %+v", set.Ready(), set.Stats())
			}
			mustKey(t, set, rs.Kid, "RS512", rs.Public())
			mustKey(t, set, ed.Kid, "EdDSA", ed.Public())
			mustErr(t, set, "other", "RS512", ErrUnknownKey)
			if set.Stats().Fetches != 0 {
				t.Fatal("static set counted a fetch")
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnusableKeysIgnored(t *testing.T) {
	good := testissuer.NewKey("RS256")
	srv := testissuer.Start(t, good)
	enc := testissuer.NewKey("RS256")
	ops := testissuer.NewKey("ES256")
	opsJWK := ops.JWK("ES256", "")
	opsJWK["key_ops"] = []string{"encrypt"}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallKey := &testissuer.Key{Kid: "small", Alg: "RS256", Private: small}
	srv.AddRawJWK(map[string]any{"kty": "oct", "kid": "sym", "alg": "HS256", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"})
	srv.AddRawJWK(enc.JWK("", "enc"))
	srv.AddRawJWK(opsJWK)
	srv.AddRawJWK(smallKey.JWK("RS256", "sig"))
	srv.AddRawJWK(map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"})
	leaked := testissuer.NewKey("EdDSA")
	leakedJWK, err := jwkset.NewJWKFromKey(leaked.Private, jwkset.JWKOptions{
		Marshal:  jwkset.JWKMarshalOptions{Private: true},
		Metadata: jwkset.JWKMetadataOptions{KID: leaked.Kid},
	})
	if err != nil {
		t.Fatal(err)
	}
	var leakedMap map[string]any
	b, _ := json.Marshal(leakedJWK.Marshal())
	if err := json.Unmarshal(b, &leakedMap); err != nil || leakedMap["d"] == nil {
		t.Fatalf("private JWK %v: %v", leakedMap, err)
	}
	srv.AddRawJWK(leakedMap)
	h := newHarness(t, authn(srv), srv)

	mustKey(t, h.set, good.Kid, "RS256", good.Public())
	if st := h.set.Stats(); st.Keys != 1 || st.Kids[0] != good.Kid {
		t.Fatalf("Stats = %+v, want only %s", st, good.Kid)
	}
	fetches := srv.Fetches()
	for _, c := range []struct{ kid, alg string }{
		{"sym", "HS256"}, {"sym", "RS256"}, {enc.Kid, "RS256"}, {ops.Kid, "ES256"}, {"small", "RS256"}, {"x", "EdDSA"}, {leaked.Kid, "EdDSA"},
	} {
		mustErr(t, h.set, c.kid, c.alg, ErrUnknownKey)
	}
	// HS256 can never fit a key: no fetch. The first RS256 miss took the
	// one refresh token; the rest were refused.
	wantFetches(t, srv, fetches+1)
}

func TestAlgAndKeyTypeMustFit(t *testing.T) {
	rsAlg, rsNoAlg := testissuer.NewKey("RS256"), testissuer.NewKey("RS256")
	p256, p384, ed := testissuer.NewKey("ES256"), testissuer.NewKey("ES384"), testissuer.NewKey("EdDSA")
	srv := testissuer.Start(t)
	srv.AddRawJWK(rsAlg.JWK("RS256", "sig"))
	srv.AddRawJWK(rsNoAlg.JWK("", ""))
	srv.AddRawJWK(p256.JWK("", "sig"))
	srv.AddRawJWK(p384.JWK("", "sig"))
	srv.AddRawJWK(ed.JWK("", "sig"))
	h := newHarness(t, authn(srv), srv)

	mustKey(t, h.set, rsNoAlg.Kid, "PS512", rsNoAlg.Public()) // no JWK alg: any RSA alg
	mustKey(t, h.set, rsAlg.Kid, "RS256", rsAlg.Public())
	mustKey(t, h.set, p384.Kid, "ES384", p384.Public())
	mustKey(t, h.set, ed.Kid, "EdDSA", ed.Public())
	h.clock.advance(0) // all misses below share the single refresh token
	for _, c := range []struct{ kid, alg string }{
		{rsAlg.Kid, "PS256"},   // JWK alg RS256 != token alg
		{rsAlg.Kid, "ES256"},   // RSA key, EC alg
		{p256.Kid, "ES384"},    // P-256 key, ES384
		{p384.Kid, "ES256"},    // P-384 key, ES256
		{p256.Kid, "RS256"},    // EC key, RSA alg
		{ed.Kid, "ES256"},      // Ed25519 key, ES alg
		{rsNoAlg.Kid, "EdDSA"}, // RSA key, EdDSA
		{rsNoAlg.Kid, "none"},
		{rsNoAlg.Kid, "HS256"},
	} {
		mustErr(t, h.set, c.kid, c.alg, ErrUnknownKey)
	}
}

func TestKidlessToken(t *testing.T) {
	rs, es := testissuer.NewKey("RS256"), testissuer.NewKey("ES256")
	h := start(t, rs, es)
	mustKey(t, h.set, "", "RS256", rs.Public()) // the only RSA key
	mustKey(t, h.set, "", "ES256", es.Public())
	mustErr(t, h.set, "", "ES384", ErrUnknownKey)

	// Two RSA keys: ambiguous, refused rather than tried in turn.
	h.srv.SetKeys(rs, es, testissuer.NewKey("RS256"))
	h.clock.advance(h.set.minRefresh)
	mustErr(t, h.set, "unknown", "RS256", ErrUnknownKey) // refresh picks up the third key
	if h.set.Stats().Keys != 3 {
		t.Fatalf("Stats = %+v", h.set.Stats())
	}
	mustErr(t, h.set, "", "RS256", ErrUnknownKey)
	mustKey(t, h.set, "", "ES256", es.Public())
}

func TestIssuersNeverShareKeys(t *testing.T) {
	a, b := testissuer.NewKey("RS256"), testissuer.NewKey("RS256").WithKid("")
	b.Kid = a.Kid // same kid at two issuers
	ha, hb := start(t, a), start(t, b)
	mustKey(t, ha.set, a.Kid, "RS256", a.Public())
	mustKey(t, hb.set, a.Kid, "RS256", b.Public())
}

func TestKeyHitAllocatesNothing(t *testing.T) {
	k := testissuer.NewKey("ES256")
	h := start(t, k)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := h.set.Key(ctx, k.Kid, "ES256"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Key hit allocates %v times per call", allocs)
	}
}

func BenchmarkKeyHit(b *testing.B) {
	k := testissuer.NewKey("ES256")
	srv := testissuer.Start(b, k)
	j := authn(srv)
	set, err := New(b.Context(), j, Options{})
	if err != nil || !set.Ready() {
		b.Fatalf("New: %v, ready %v", err, set.Ready())
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Key(ctx, k.Kid, "ES256"); err != nil {
			b.Fatal(err)
		}
	}
}

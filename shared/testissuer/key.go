// Package testissuer is test support for the packages that verify tokens:
// it makes real signing keys, signs compact JWS tokens (including
// deliberately hostile ones), and runs real OIDC issuers over TLS on
// 127.0.0.1 with a mutable JWKS, request counters and on-demand failures.
//
// Nothing here is used outside tests. Functions panic on an impossible
// condition (such as a failed key generation) rather than take a
// *testing.T, so they can be called from helpers and benchmarks alike.
package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/MicahParks/jwkset"
)

// Algorithms lists every asymmetric algorithm NewKey accepts.
var Algorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// Key is one signing key of an issuer.
type Key struct {
	// Kid is a random key ID, unique per Key ("<alg>-<16 hex digits>").
	Kid string
	// Alg is the JWS algorithm the key signs with.
	Alg string
	// Private is the private key: *rsa.PrivateKey, *ecdsa.PrivateKey or
	// ed25519.PrivateKey.
	Private crypto.Signer
}

// NewKey generates a fresh key for alg: RSA 2048 for RS*/PS*, P-256,
// P-384 or P-521 for ES256/ES384/ES512, Ed25519 for EdDSA. It panics on any
// other alg.
func NewKey(alg string) *Key {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("testissuer: unsupported alg %q", alg))
	}
	if err != nil {
		panic(fmt.Sprintf("testissuer: generate %s key: %v", alg, err))
	}
	return &Key{Kid: strings.ToLower(alg) + "-" + randomHex(8), Alg: alg, Private: priv}
}

// WithKid returns a copy of k (same key material) under another kid.
func (k *Key) WithKid(kid string) *Key {
	c := *k
	c.Kid = kid
	return &c
}

// Public returns the public half of the key.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// PublicPEM returns the public key as a PKIX "PUBLIC KEY" PEM block, the
// bytes an HS256 key-confusion attack uses as its HMAC secret.
func (k *Key) PublicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(fmt.Sprintf("testissuer: marshal public key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// JWK returns the public JWK of k as a JSON object, with kid set. alg and
// use are put in the "alg" and "use" members when non-empty and omitted
// when empty, so a test can publish a key without alg, with another alg, or
// with use "enc".
func (k *Key) JWK(alg, use string) map[string]any {
	j, err := jwkset.NewJWKFromKey(k.Public(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: k.Kid},
	})
	if err != nil {
		panic(fmt.Sprintf("testissuer: JWK of %s key: %v", k.Alg, err))
	}
	raw, err := json.Marshal(j.Marshal())
	if err != nil {
		panic(fmt.Sprintf("testissuer: marshal JWK: %v", err))
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(fmt.Sprintf("testissuer: unmarshal JWK: %v", err))
	}
	delete(m, "alg")
	delete(m, "use")
	if alg != "" {
		m["alg"] = alg
	}
	if use != "" {
		m["use"] = use
	}
	return m
}

// JWKS returns {"keys":[...]} for keys, each with its own alg and use
// "sig", as JSON bytes (e.g. for a static issuer.jwks).
func JWKS(keys ...*Key) []byte {
	list := make([]any, 0, len(keys))
	for _, k := range keys {
		list = append(list, k.JWK(k.Alg, "sig"))
	}
	return mustJSON(map[string]any{"keys": list})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("testissuer: random: %v", err))
	}
	return hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("testissuer: marshal JSON: %v", err))
	}
	return b
}

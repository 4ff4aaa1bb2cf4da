package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is RFC 7518 §3.3's minimum RSA key size for RS* and PS*.
const minRSABits = 2048

// useWhitelist is keyfunc's use check: signature keys and keys without
// use. keyfunc compares exactly, so "" must be listed for keys that omit
// use.
var useWhitelist = []jwkset.USE{jwkset.UseSig, ""}

// admit returns the keys of store that may verify token signatures. For
// every key, keyfunc is asked, once per alg the key's type could verify,
// for the key of a token header {kid, alg}: the algs it answers with this
// very key are the ones admitted (keyfunc checks the JWK's use against
// useWhitelist and its alg, when present, against the token's). On top of
// keyfunc this package refuses oct keys (keyfunc would hand out the HMAC
// secret), keys published with private material (keyfunc would return
// their public half), key_ops without "verify", RSA below 2048 bits and
// key types no supported alg fits.
//
// leaked holds the identities (see identity) of keys the document
// published with "d"; published is how many keys the document listed (the
// difference with the storage is what jwkset skipped as unsupported).
func admit(ctx context.Context, store jwkset.Storage, leaked map[string]bool, published int, issuer string, log *slog.Logger) ([]entry, error) {
	jwks, err := store.KeyReadAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("read JWK Set storage: %w", err)
	}
	if n := published - len(jwks); n > 0 {
		log.Info("issuer JWKs of a type jwkset does not support, ignored", "issuer", issuer, "count", n)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store, UseWhitelist: useWhitelist})
	if err != nil {
		return nil, fmt.Errorf("keyfunc: %w", err)
	}
	entries := make([]entry, 0, len(jwks))
	seen := make(map[string]bool, len(jwks))
	for _, j := range jwks {
		kid := j.Marshal().KID
		ask := kf
		if seen[kid] {
			// keyfunc reads the first key with a kid; a later key under
			// the same kid (RFC 7517 allows it across key types) is judged
			// by a keyfunc over that key alone.
			if ask, err = oneKeyfunc(ctx, j); err != nil {
				return nil, err
			}
		}
		seen[kid] = true
		e, skip := admitOne(ctx, ask, j, leaked)
		if skip != "" {
			log.Info("issuer JWK not usable for signatures, ignored", "issuer", issuer, "kid", kid, "reason", skip)
			continue
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// oneKeyfunc is a keyfunc over a storage holding j alone.
func oneKeyfunc(ctx context.Context, j jwkset.JWK) (keyfunc.Keyfunc, error) {
	m := jwkset.NewMemoryStorage()
	if err := m.KeyWrite(ctx, j); err != nil {
		return nil, fmt.Errorf("JWK storage: %w", err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: m, UseWhitelist: useWhitelist})
	if err != nil {
		return nil, fmt.Errorf("keyfunc: %w", err)
	}
	return kf, nil
}

// admitOne applies this package's rules to j, then asks kf which of the
// algs j's type fits it may verify. skip is non-empty when j may verify
// nothing.
func admitOne(ctx context.Context, kf keyfunc.Keyfunc, j jwkset.JWK, leaked map[string]bool) (e entry, skip string) {
	m := j.Marshal()
	e.kid = m.KID
	switch {
	case m.KTY == jwkset.KtyOct:
		return e, "symmetric (oct) key"
	case m.D != "" || leaked[identity(m)] || isPrivate(j.Key()):
		// Whoever can read this JWKS can sign with the key: it is compromised.
		return e, "private key material published"
	case len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify):
		return e, "key_ops without verify"
	}
	fam, skip := familyOf(j.Key())
	if skip != "" {
		return e, skip
	}
	var refused error
	for _, alg := range fam.algs() {
		got, err := kf.KeyfuncCtx(ctx)(&jwt.Token{
			Header: map[string]any{"kid": m.KID, "alg": alg},
			Method: jwt.GetSigningMethod(alg),
		})
		if err != nil {
			refused = err
			continue
		}
		if !sameKey(got, j.Key()) {
			return e, "keyfunc returned another key for its kid"
		}
		e.algs |= algBit(alg)
	}
	if e.algs == 0 {
		return e, fmt.Sprintf("refused by keyfunc: %v", refused)
	}
	e.key = j.Key()
	return e, ""
}

// familyOf tells which algs a public key's type and size fit.
func familyOf(key any) (keyFamily, string) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return famNone, fmt.Sprintf("RSA key of %d bits (minimum %d)", k.N.BitLen(), minRSABits)
		}
		return famRSA, ""
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return famP256, ""
		case elliptic.P384():
			return famP384, ""
		case elliptic.P521():
			return famP521, ""
		}
	case ed25519.PublicKey:
		return famEd25519, ""
	}
	return famNone, fmt.Sprintf("key type %T cannot verify signatures", key)
}

func isPrivate(key any) bool {
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ecdh.PrivateKey:
		return true
	}
	return false
}

func sameKey(got any, want crypto.PublicKey) bool {
	eq, ok := got.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(want)
}

// identity names a JWK's public key by its public members as published.
// jwkset copies them verbatim, so a key parsed by jwkset and the same key
// read from the raw document have the same identity.
func identity(m jwkset.JWKMarshal) string {
	return string(m.KTY) + "\x00" + string(m.CRV) + "\x00" + m.X + "\x00" + m.Y + "\x00" + m.N + "\x00" + m.E
}

// inspectJWKS re-reads the document jwkset just parsed for what jwkset
// does not check or keeps from view: the set must have a "keys" array
// (jwkset takes {} or a lone JWK as an empty set, which would revoke every
// key), and which keys were published with private material (jwkset drops
// an RSA "d" that comes without the CRT members, so the parsed JWK no
// longer shows it). It decodes as jwkset does (the first JSON value).
func inspectJWKS(body []byte) (leaked map[string]bool, published int, err error) {
	var doc struct {
		Keys *[]jwkset.JWKMarshal `json:"keys"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&doc); err != nil {
		return nil, 0, fmt.Errorf("decode JWK Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, 0, errors.New(`JWK Set has no "keys" array`)
	}
	leaked = map[string]bool{}
	for _, m := range *doc.Keys {
		if m.D != "" {
			leaked[identity(m)] = true
		}
	}
	return leaked, len(*doc.Keys), nil
}

// staticKeys parses a configured JWK Set (an object with a "keys" array,
// checked by config) into a jwkset memory storage and admits its keys like
// a fetched set's. Unlike a fetched set, a key that jwkset cannot parse,
// unsupported types included, is an error naming its index.
//
// keyfunc.NewJWKSetJSON is not used: it builds its storage without
// jwkset's JWK validation (JWKSMarshal.JWKSlice skips JWK.Validate) and
// its error does not say which key failed.
func staticKeys(ctx context.Context, raw []byte, issuer string, log *slog.Logger) ([]entry, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode JWK Set: %w", err)
	}
	store := jwkset.NewMemoryStorage()
	leaked := map[string]bool{}
	for i, rawKey := range doc.Keys {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(rawKey, &m); err != nil {
			return nil, fmt.Errorf("key %d: decode JWK: %w", i, err)
		}
		// Private: true so that oct and private keys parse and are then
		// refused by admit with a reason, as in a fetched set.
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: true},
			jwkset.JWKValidateOptions{SkipUse: true, SkipKeyOps: true})
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if m.D != "" {
			leaked[identity(m)] = true
		}
		if err := store.KeyWrite(ctx, j); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
	}
	return admit(ctx, store, leaked, len(doc.Keys), issuer, log)
}

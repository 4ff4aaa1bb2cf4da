package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"
)

// minRSABits is RFC 7518 §3.3's minimum RSA key size for RS* and PS*.
const minRSABits = 2048

// keyFamily is what a key can verify: RSA serves RS* and PS*; each ECDSA
// curve serves exactly one ES alg; Ed25519 serves EdDSA.
type keyFamily uint8

const (
	famNone keyFamily = iota
	famRSA
	famP256
	famP384
	famP521
	famEd25519
)

// family maps a JWS alg to the key family that can verify it; famNone for
// anything else (none, HS*, unknown names).
func family(alg string) keyFamily {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return famRSA
	case "ES256":
		return famP256
	case "ES384":
		return famP384
	case "ES512":
		return famP521
	case "EdDSA":
		return famEd25519
	}
	return famNone
}

// signingAlgs are the algs a key can fit, for the kid-less lookup table.
var signingAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// entry is one usable key.
type entry struct {
	kid string
	alg string // the JWK's alg, "" when absent
	fam keyFamily
	key crypto.PublicKey
}

func (e *entry) fits(alg string) bool {
	return (e.alg == "" || e.alg == alg) && e.fam == family(alg)
}

// snapshot is an immutable view of the usable keys, swapped atomically.
type snapshot struct {
	byKid map[string][]entry
	sole  map[string]crypto.PublicKey // alg -> the only key fitting it
	kids  []string                    // sorted, one per usable key
	at    time.Time                   // when the keys were obtained
}

func newSnapshot(entries []entry, at time.Time) *snapshot {
	s := &snapshot{byKid: map[string][]entry{}, sole: map[string]crypto.PublicKey{}, at: at}
	for _, e := range entries {
		s.byKid[e.kid] = append(s.byKid[e.kid], e)
		s.kids = append(s.kids, e.kid)
	}
	slices.Sort(s.kids)
	for _, alg := range signingAlgs {
		var only crypto.PublicKey
		n := 0
		for i := range entries {
			if entries[i].fits(alg) {
				only = entries[i].key
				n++
			}
		}
		if n == 1 {
			s.sole[alg] = only
		}
	}
	return s
}

// lookup finds the key for kid and alg without allocating. An empty kid
// matches only when exactly one key fits alg.
func (s *snapshot) lookup(kid, alg string) (crypto.PublicKey, bool) {
	if kid == "" {
		k, ok := s.sole[alg]
		return k, ok
	}
	list := s.byKid[kid]
	for i := range list {
		if list[i].fits(alg) {
			return list[i].key, true
		}
	}
	return nil, false
}

// parseJWKS returns the usable keys of a JWK Set. The set must be a JSON
// object with a "keys" array. Keys are parsed by jwkset as public keys
// only; oct keys and keys published with their private part never reach
// it. A key that
// cannot verify signatures is skipped; a key that fails to parse is
// skipped too, unless strict (static configuration), where it is an error.
func parseJWKS(data []byte, strict bool, issuer string, log *slog.Logger) ([]entry, error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode JWK Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`JWK Set has no "keys" array`)
	}
	entries := make([]entry, 0, len(*doc.Keys))
	for i, raw := range *doc.Keys {
		e, skip, err := parseJWK(raw)
		switch {
		case err != nil && strict:
			return nil, fmt.Errorf("key %d: %w", i, err)
		case err != nil:
			log.Warn("issuer JWK skipped", "issuer", issuer, "index", i, "error", err)
		case skip != "":
			log.Info("issuer JWK not usable for signatures, ignored", "issuer", issuer, "kid", e.kid, "reason", skip)
		default:
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// parseJWK parses one JWK. skip is non-empty when the key is well formed
// but may never verify a token signature.
func parseJWK(raw json.RawMessage) (e entry, skip string, err error) {
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(raw, &m); err != nil {
		return e, "", fmt.Errorf("decode JWK: %w", err)
	}
	e.kid, e.alg = m.KID, string(m.ALG)
	switch {
	case m.KTY == jwkset.KtyOct:
		return e, "symmetric (oct) key", nil
	case m.USE != jwkset.UseSig && m.USE != "":
		return e, fmt.Sprintf("use %.32q", m.USE), nil
	case len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify):
		return e, "key_ops without verify", nil
	case m.D != "":
		// Whoever can read this JWKS can sign with the key: it is compromised.
		return e, "private key material published", nil
	}
	j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: false}, jwkset.JWKValidateOptions{})
	if err != nil {
		return e, "", err
	}
	switch k := j.Key().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return e, fmt.Sprintf("RSA key of %d bits (minimum %d)", k.N.BitLen(), minRSABits), nil
		}
		e.fam = famRSA
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			e.fam = famP256
		case elliptic.P384():
			e.fam = famP384
		case elliptic.P521():
			e.fam = famP521
		}
	case ed25519.PublicKey:
		e.fam = famEd25519
	}
	if e.fam == famNone {
		return e, fmt.Sprintf("key type %T cannot verify signatures", j.Key()), nil
	}
	e.key = j.Key()
	return e, "", nil
}

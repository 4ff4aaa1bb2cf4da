package keys

import (
	"crypto"
	"slices"
	"time"
)

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

// algs lists the JWS algs a key of family f may verify.
func (f keyFamily) algs() []string {
	switch f {
	case famRSA:
		return signingAlgs[:6]
	case famP256:
		return signingAlgs[6:7]
	case famP384:
		return signingAlgs[7:8]
	case famP521:
		return signingAlgs[8:9]
	case famEd25519:
		return signingAlgs[9:10]
	}
	return nil
}

// signingAlgs are the algs a key can ever fit, in algBit order.
var signingAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// algSet is a set of signingAlgs, one bit each.
type algSet uint16

// algBit is alg's bit in an algSet; 0 for anything no key can fit (none,
// HS*, unknown names). A switch, so that lookups do not allocate.
func algBit(alg string) algSet {
	switch alg {
	case "RS256":
		return 1 << 0
	case "RS384":
		return 1 << 1
	case "RS512":
		return 1 << 2
	case "PS256":
		return 1 << 3
	case "PS384":
		return 1 << 4
	case "PS512":
		return 1 << 5
	case "ES256":
		return 1 << 6
	case "ES384":
		return 1 << 7
	case "ES512":
		return 1 << 8
	case "EdDSA":
		return 1 << 9
	}
	return 0
}

// entry is one usable key and the algs it was admitted for.
type entry struct {
	kid  string
	algs algSet
	key  crypto.PublicKey
}

func (e *entry) fits(alg string) bool {
	b := algBit(alg)
	return b != 0 && e.algs&b != 0
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

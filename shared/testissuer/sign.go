package testissuer

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sign returns a compact JWS whose protected header is exactly header
// (JSON-encoded; encoding/json orders the members by name) and whose
// payload is claims. The signature depends on header["alg"]:
//
//   - "none": the signature is empty ("<header>.<payload>.");
//   - "HS256", "HS384", "HS512": an HMAC keyed with k.PublicPEM(), the
//     classic key-confusion attack;
//   - an asymmetric alg that fits k's key type (RS* and PS* for an RSA key,
//     the ES alg of k's curve, EdDSA for Ed25519): signed with that alg;
//   - anything else (missing, unknown, or not fitting the key): signed
//     with k.Alg, so the header can lie about the algorithm.
//
// Sign never adds kid, typ or anything else: use Server.Token for an
// ordinary token.
func Sign(k *Key, header map[string]any, claims map[string]any) string {
	alg, _ := header["alg"].(string)
	return sign(k, alg, mustJSON(header), mustJSON(claims))
}

// SignRaw signs headerJSON and payloadJSON byte for byte (base64url without
// padding) with k.Alg, whatever the header says. Use it for payloads no
// map can express: duplicate members, exp as a string, deep nesting, huge
// bodies.
func SignRaw(k *Key, headerJSON, payloadJSON []byte) string {
	return sign(k, k.Alg, headerJSON, payloadJSON)
}

// SignHMAC returns a compact JWS with exactly header and claims, signed
// with HMAC (the hash chosen by header["alg"], HS256 when it is not HS384
// or HS512) keyed with secret, e.g. the "k" of an oct JWK.
func SignHMAC(secret []byte, header map[string]any, claims map[string]any) string {
	alg, _ := header["alg"].(string)
	if alg != "HS384" && alg != "HS512" {
		alg = "HS256"
	}
	input := signingInput(mustJSON(header), mustJSON(claims))
	sig, err := jwt.GetSigningMethod(alg).Sign(input, secret)
	if err != nil {
		panic(fmt.Sprintf("testissuer: sign %s: %v", alg, err))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Claims returns the usual claims of a valid token: iss, aud and sub (each
// only when non-empty), iat and nbf now, exp now+ttl, as Unix seconds.
func Claims(iss, aud, sub string, ttl time.Duration) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if iss != "" {
		c["iss"] = iss
	}
	if aud != "" {
		c["aud"] = aud
	}
	if sub != "" {
		c["sub"] = sub
	}
	return c
}

func signingInput(header, payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
}

func sign(k *Key, alg string, header, payload []byte) string {
	input := signingInput(header, payload)
	var (
		sig []byte
		err error
	)
	switch {
	case alg == "none":
		return input + "."
	case alg == "HS256" || alg == "HS384" || alg == "HS512":
		sig, err = jwt.GetSigningMethod(alg).Sign(input, k.PublicPEM())
	case fits(k, alg):
		sig, err = jwt.GetSigningMethod(alg).Sign(input, k.Private)
	default:
		sig, err = jwt.GetSigningMethod(k.Alg).Sign(input, k.Private)
	}
	if err != nil {
		panic(fmt.Sprintf("testissuer: sign %s: %v", alg, err))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// fits reports whether alg can be computed with k's key.
func fits(k *Key, alg string) bool {
	family := func(a string) string {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return "RSA"
		}
		return a // each ES alg has its own curve; EdDSA is alone
	}
	return alg != "" && family(alg) == family(k.Alg)
}

// Package verify owns the decision for one token: it parses the compact
// JWS, routes it on its (unverified) iss to one configured issuer, runs the
// cheap checks (algorithm, times, audiences), obtains the key, verifies the
// signature and maps the claims to the user, returning a decision.Result.
//
// # Order of the checks
//
// Cheapest first, and the network last: only a token that is well formed,
// routed to a configured issuer, signed with an allowed algorithm, within
// its validity period and meant for an accepted audience can reach the key
// lookup, which is the only step that may fetch the issuer's JWKS (on an
// unknown kid, rate-limited by package keys). A flood of junk or replayed
// tokens therefore costs no request to the issuer.
//
//  1. size cap, three non-empty segments, strict unpadded base64url;
//  2. header: a JSON object with unique member names, alg a string, kid a
//     string when present, no crit (no extension is understood); jwk, jku,
//     x5u, x5c and the like are ignored, keys come only from the issuer's
//     configured key set (RFC 8725 §3.10);
//  3. payload: a JSON object with unique member names, nested at most 32
//     levels; iss a string naming a configured issuer exactly;
//  4. alg in the issuer's allow-list (never none nor HS*);
//  5. exp (required, a number), nbf, iat, maximum lifetime, with leeway;
//  6. audiences: token ∩ issuer (∩ request, when it names any);
//  7. key by kid and alg; 8. signature; 9. claim rules and mapping.
//
// # Why the compact form is parsed here and not by golang-jwt
//
// golang-jwt's Parser decodes the header and claims with encoding/json,
// which silently keeps the last of duplicate members (two iss, two alg), a
// known source of parser-differential attacks that RFC 7515 §4 and RFC 8725
// §3.1 tell recipients to refuse. Its Parser also calls the key function
// before validating the claims, so either the network (key refresh) comes
// before the cheap checks or the claims are decoded twice. This package
// therefore splits and decodes the token itself and uses golang-jwt only
// for what it is for: SigningMethod.Verify does every signature check, and
// no cryptography is written here.
//
// # JSON decoding
//
// The header and payload are parsed by this package's own strict RFC 8259
// parser (jsonparse.go, header.go) into map[string]any with float64
// numbers, the map claims.Map reads; it is built once per review. The
// choice, measured on a 595-byte pod-bound service-account payload
// (BenchmarkDecodeClaims; best of 30000 calls on the shared build machine):
//
//   - encoding/json: 5.1 µs, 90 allocations, and it keeps the last of
//     duplicate members silently, so refusing them needs a second pass;
//   - github.com/go-json-experiment/json: 3.0 µs, 55 allocations; it
//     refuses duplicates and invalid UTF-8 by default, but its nesting
//     limit is not configurable in the version we use; this was the
//     largest cost of a review after the signature;
//   - the local parser: 1.3 µs, 34 allocations (the map, its boxed values
//     and nothing else). It has exactly go-json-experiment's strictness,
//     which is its oracle in FuzzParseJSON, enforces the depth limit while
//     parsing, uses no reflection, and does not copy strings without
//     escapes: they share the decoded token buffer, which is never written
//     after decoding.
package verify

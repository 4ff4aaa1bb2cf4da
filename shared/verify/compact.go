package verify

import (
	"encoding/base64"
	"errors"
	"strings"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tokenreview/webhook/shared/decision"
)

// maxDepth bounds the nesting of the payload (and header) JSON. Real claims
// sets nest two or three levels; kube's service-account claim nests three.
const maxDepth = 32

// b64 is base64url without padding, rejecting non-zero trailing bits so that
// every segment has exactly one accepted spelling (RFC 7515 §2, §C).
var b64 = base64.RawURLEncoding.Strict()

// header is the part of the JOSE header we read. Members not listed here
// (typ, cty, and in particular jwk, jku, x5u, x5c, x5t) are ignored: keys
// come only from the issuer's configured key set, never from the token
// (RFC 8725 §3.10). They still take part in the duplicate-name check.
type header struct {
	Alg  strictString   `json:"alg"`
	Kid  strictString   `json:"kid"`
	Crit jsontext.Value `json:"crit"`
}

// strictString is a JSON member that, when present, must be a JSON string:
// unlike a plain string field it refuses null.
type strictString struct {
	set bool
	s   string
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (v *strictString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '"' {
		return errNotString
	}
	v.set, v.s = true, tok.String()
	return nil
}

var errNotString = decision.Deny(decision.Malformed, "header member must be a string")

// compact is a token split into its parts. Nothing in it may be put in a
// message except alg and kid, which are public header values.
type compact struct {
	signingInput string // header.payload, as received: what the signature covers
	payload      []byte // decoded payload JSON
	sig          []byte // decoded signature
	alg, kid     string
}

// splitCompact checks the size and shape of the compact serialization and
// decodes its three segments, strictly, into one buffer. It reads no JSON.
func splitCompact(token string, limit int) (compact, *decision.Error) {
	var c compact
	if len(token) > limit {
		return c, decision.Deny(decision.Malformed, "token is %d bytes, over the limit of %d", len(token), limit)
	}
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return c, errSegments
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return c, errSegments
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return c, errSegments
	}
	h, p, s := token[:d1], token[d1+1:d2], token[d2+1:]
	if len(h) == 0 || len(p) == 0 || len(s) == 0 {
		return c, errEmptySegment
	}
	// encoding/base64 skips CR and LF even in strict mode; a token must not
	// contain them at all. Every other byte outside the alphabet (including
	// '=' padding, '+' and '/') is refused by the decoder.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return c, errEncoding
	}
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	hb, ok := decodeSegment(buf, h)
	if !ok {
		return c, errEncoding
	}
	buf = buf[len(hb):]
	pb, ok := decodeSegment(buf, p)
	if !ok {
		return c, errEncoding
	}
	buf = buf[len(pb):]
	sb, ok := decodeSegment(buf, s)
	if !ok {
		return c, errEncoding
	}
	c.signingInput, c.payload, c.sig = token[:d2], pb, sb
	var hd header
	if tooDeep(hb, maxDepth) {
		return c, decision.Deny(decision.Malformed, "header JSON nests deeper than %d levels", maxDepth)
	}
	if err := json.Unmarshal(hb, &hd); err != nil {
		return c, decision.Deny(decision.Malformed, "header is not a valid JSON object with unique string members alg and kid: %s", jsonErrorKind(err))
	}
	switch {
	case !hd.Alg.set || hd.Alg.s == "":
		return c, decision.Deny(decision.Malformed, "header has no alg")
	case hd.Crit != nil:
		// RFC 7515 §4.1.11: a recipient must reject a token whose crit
		// lists an extension it does not understand; we understand none.
		return c, decision.Deny(decision.Malformed, "header has crit, and no critical extension is supported")
	}
	c.alg, c.kid = hd.Alg.s, hd.Kid.s
	return c, nil
}

var (
	errSegments     = decision.Deny(decision.Malformed, "token is not a JWS compact serialization of three segments")
	errEmptySegment = decision.Deny(decision.Malformed, "token has an empty segment")
	errEncoding     = decision.Deny(decision.Malformed, "token segment is not unpadded base64url")
)

// decodeSegment decodes s into the front of dst. The string is viewed as
// bytes without a copy: the decoder only reads it.
func decodeSegment(dst []byte, s string) ([]byte, bool) {
	n, err := b64.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return nil, false
	}
	return dst[:n], true
}

// decodeClaims decodes the payload into a claims map. Numbers become
// float64, as claims.Map expects; duplicate names, invalid UTF-8, nesting
// deeper than maxDepth and anything but an object are refused.
func decodeClaims(payload []byte) (map[string]any, *decision.Error) {
	var m map[string]any
	if len(payload) == 0 || payload[0] != '{' {
		// Leading whitespace is valid JSON but no issuer emits it; refusing
		// it keeps "must be an object" a one-byte check.
		return nil, decision.Deny(decision.Malformed, "payload is not a JSON object")
	}
	if tooDeep(payload, maxDepth) {
		return nil, decision.Deny(decision.Malformed, "payload JSON nests deeper than %d levels", maxDepth)
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, decision.Deny(decision.Malformed, "payload is not a valid JSON object: %s", jsonErrorKind(err))
	}
	return m, nil
}

// jsonErrorKind describes a JSON error without quoting the input: the
// library's messages may contain fragments of the decoded segment.
func jsonErrorKind(err error) string {
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return "duplicate member name"
	case errors.Is(err, errNotString):
		return "member is not a string"
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		return "unexpected JSON type"
	}
	return "syntax error"
}

// tooDeep reports whether the JSON text b opens more than limit nested
// objects or arrays. go-json-experiment's own limit (10000) is not
// configurable in this version, so a linear pre-scan enforces ours before
// the decoder builds anything. It only tracks strings and escapes; the
// decoder still validates the syntax.
func tooDeep(b []byte, limit int) bool {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

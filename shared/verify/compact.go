package verify

import (
	"encoding/base64"
	"strings"
	"unsafe"

	"github.com/tokenreview/webhook/shared/decision"
)

// maxDepth bounds the nesting of the header and payload JSON. Real claims
// sets nest two or three levels; kube's service-account claim nests three.
const maxDepth = 32

// b64 is base64url without padding, rejecting non-zero trailing bits so that
// every segment has exactly one accepted spelling (RFC 7515 §2, §C).
var b64 = base64.RawURLEncoding.Strict()

// compact is a token split into its parts. Nothing in it may be put in a
// message except alg and kid, which are public header values.
type compact struct {
	signingInput string // header.payload, as received: what the signature covers
	payload      []byte // decoded payload JSON
	sig          []byte // decoded signature
	alg, kid     string
}

// splitCompact checks the size and shape of the compact serialization,
// decodes its three segments, strictly, into one buffer, and reads the
// protected header. The payload is only decoded, not parsed.
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
	alg, kid, derr := readHeader(hb)
	if derr != nil {
		return c, derr
	}
	c.alg, c.kid = alg, kid
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
	m, err := parseObject(payload)
	if err != nil {
		return nil, decision.Deny(decision.Malformed, "payload is not a valid JSON object: %v", err)
	}
	return m, nil
}

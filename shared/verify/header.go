package verify

import "github.com/tokenreview/webhook/shared/decision"

// readHeader checks the decoded protected header and returns its alg and
// kid (kid may be empty).
func readHeader(b []byte) (alg, kid string, derr *decision.Error) {
	hd, err := parseHeader(b)
	if err != nil {
		return "", "", decision.Deny(decision.Malformed, "header is not a valid JSON object: %v", err)
	}
	switch {
	case !hd.algIsString || hd.alg == "":
		return "", "", decision.Deny(decision.Malformed, "header has no alg string")
	case hd.hasKid && !hd.kidIsString:
		return "", "", decision.Deny(decision.Malformed, "header kid is not a string")
	case hd.hasCrit:
		// RFC 7515 §4.1.11: a recipient must reject a token whose crit
		// lists an extension it does not understand; we understand none.
		return "", "", decision.Deny(decision.Malformed, "header has crit, and no critical extension is supported")
	}
	// Other members (typ, cty, and in particular jwk, jku, x5u, x5c, x5t)
	// are ignored: keys come only from the issuer's configured key set,
	// never from the token (RFC 8725 §3.10). They still took part in the
	// duplicate-name check.
	return hd.alg, hd.kid, nil
}

// parseHeader reads a JOSE header: exactly one JSON object with unique
// member names, of which only alg, kid and crit matter. It builds no map:
// names are checked for duplicates in a small list, and the values of
// other members are validated and dropped.
func parseHeader(b []byte) (h joseHeader, err error) {
	p := parser{b: b}
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return h, errJSONNotObject
	}
	p.depth, p.i = 1, p.i+1
	var seenBuf [16]string
	seen := seenBuf[:0]
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for {
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return h, errJSONSyntax
			}
			name, err := p.str()
			if err != nil {
				return h, err
			}
			if len(seen) == maxHeaderMembers {
				return h, errJSONHeaderSize
			}
			for _, s := range seen {
				if s == name {
					return h, errJSONDuplicate
				}
			}
			seen = append(seen, name)
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return h, errJSONSyntax
			}
			p.i++
			if err := p.headerMember(name, &h); err != nil {
				return h, err
			}
			p.skipSpace()
			if p.i >= len(p.b) {
				return h, errJSONSyntax
			}
			if p.b[p.i] == '}' {
				p.i++
				break
			}
			if p.b[p.i] != ',' {
				return h, errJSONSyntax
			}
			p.i++
		}
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return h, errJSONSyntax
	}
	return h, nil
}

// maxHeaderMembers bounds the members of a header (real ones have two to
// five), which keeps the quadratic duplicate check cheap.
const maxHeaderMembers = 32

// joseHeader is what a review needs of the protected header.
type joseHeader struct {
	alg, kid                 string
	hasAlg, hasKid, hasCrit  bool
	algIsString, kidIsString bool
}

// headerMember parses the value of member name at p.i.
func (p *parser) headerMember(name string, h *joseHeader) error {
	p.skipSpace()
	isString := p.i < len(p.b) && p.b[p.i] == '"'
	switch {
	case name == "alg" && isString:
		h.hasAlg, h.algIsString = true, true
		s, err := p.str()
		h.alg = s
		return err
	case name == "kid" && isString:
		h.hasKid, h.kidIsString = true, true
		s, err := p.str()
		h.kid = s
		return err
	case name == "alg":
		h.hasAlg = true
	case name == "kid":
		h.hasKid = true
	case name == "crit":
		h.hasCrit = true
	case isString: // typ, cty...: validated, not kept
		_, err := p.str()
		return err
	}
	_, err := p.value()
	return err
}

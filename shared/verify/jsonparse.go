package verify

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file is a strict RFC 8259 parser for the JOSE header and the claims
// set, producing map[string]any with float64 numbers (what claims.Map
// reads). It exists for speed on the hot path: decoding the claims was the
// largest cost of a review after the signature (see the package doc and
// BenchmarkDecodeClaims). Two things make it cheaper than a reflective
// decoder: strings without escapes are not copied (they point into the
// decoded payload buffer, which is never written after decoding), and
// there is no reflection.
//
// It is exactly as strict as go-json-experiment's defaults, which the
// tests use as the oracle (FuzzParseJSON compares both on every input):
// duplicate member names (compared after unescaping) are refused at every
// level, as are invalid UTF-8, lone surrogate escapes, numbers outside
// float64, trailing data, and nesting deeper than maxDepth.

// JSON errors. Their text never quotes the input.
var (
	errJSONSyntax     = errors.New("syntax error")
	errJSONDuplicate  = errors.New("duplicate member name")
	errJSONDepth      = errors.New("nested too deeply")
	errJSONUTF8       = errors.New("invalid UTF-8 or unpaired surrogate")
	errJSONRange      = errors.New("number out of range")
	errJSONNotObject  = errors.New("not a JSON object")
	errJSONHeaderSize = errors.New("too many header members")
)

// parseObject parses b, which must be exactly one JSON object (surrounding
// whitespace allowed). Strings in the result may share memory with b, so b
// must not be modified afterwards.
func parseObject(b []byte) (map[string]any, error) {
	p := parser{b: b}
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errJSONNotObject
	}
	m, err := p.object(topLevelHint)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return nil, errJSONSyntax
	}
	return m, nil
}

type parser struct {
	b     []byte
	i     int
	depth int
}

func (p *parser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return nil, errJSONSyntax
	}
	switch c := p.b[p.i]; {
	case c == '{':
		m, err := p.object(0)
		if err != nil {
			return nil, err
		}
		return m, nil
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		f, err := p.number()
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, errJSONSyntax
}

func (p *parser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return errJSONSyntax
	}
	p.i += len(word)
	return nil
}

// topLevelHint sizes the claims map: ID and service-account tokens carry
// about ten to fifteen claims, so this avoids growing the map.
const topLevelHint = 16

// object parses an object starting at '{'.
func (p *parser) object(hint int) (map[string]any, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, errJSONDepth
	}
	p.i++ // '{'
	m := make(map[string]any, hint)
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, errJSONSyntax
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[name]; dup {
			return nil, errJSONDuplicate
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, errJSONSyntax
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[name] = v
		p.skipSpace()
		if p.i >= len(p.b) {
			return nil, errJSONSyntax
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return m, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

// array parses an array starting at '['.
func (p *parser) array() (any, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, errJSONDepth
	}
	p.i++ // '['
	a := make([]any, 0, 4)
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.skipSpace()
		if p.i >= len(p.b) {
			return nil, errJSONSyntax
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return a, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

// str parses a string starting at '"'. Without escapes the result aliases
// p.b; with escapes it is a fresh string.
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if len(s) == 0 {
				return "", nil
			}
			return unsafe.String(&s[0], len(s)), nil
		case c == '\\':
			return p.strEscaped(start)
		case c < 0x20:
			return "", errJSONSyntax
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", errJSONUTF8
			}
			p.i += size
		}
	}
	return "", errJSONSyntax
}

// strEscaped continues a string that has an escape at p.i, copying.
func (p *parser) strEscaped(start int) (string, error) {
	out := make([]byte, 0, p.i-start+16)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", errJSONSyntax
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, err := p.unicodeEscape()
				if err != nil {
					return "", err
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", errJSONSyntax
			}
		case c < 0x20:
			return "", errJSONSyntax
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", errJSONUTF8
			}
			out = append(out, p.b[p.i:p.i+size]...)
			p.i += size
		}
	}
	return "", errJSONSyntax
}

// unicodeEscape reads the XXXX of \uXXXX at p.i (and a following low
// surrogate escape when XXXX is a high surrogate).
func (p *parser) unicodeEscape() (rune, error) {
	r, ok := p.hex4()
	if !ok {
		return 0, errJSONSyntax
	}
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if r >= 0xdc00 || p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
		return 0, errJSONUTF8
	}
	p.i += 2
	r2, ok := p.hex4()
	if !ok {
		return 0, errJSONSyntax
	}
	if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
		return d, nil
	}
	return 0, errJSONUTF8
}

func (p *parser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

// number parses an RFC 8259 number as a float64.
func (p *parser) number() (float64, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.digits() == 0:
		return 0, errJSONSyntax
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return 0, errJSONSyntax
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return 0, errJSONSyntax
		}
	}
	s := p.b[start:p.i]
	f, err := strconv.ParseFloat(unsafe.String(&s[0], len(s)), 64)
	if err != nil {
		return 0, errJSONRange
	}
	return f, nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

package endpointauth

import (
	"errors"
	"strings"
)

// NormalizeDN returns a canonical spelling of a distinguished name such as
// "CN=kube-apiserver, O=example" so that two spellings that differ only in
// spacing compare equal: spaces around ',', '+' and '=' are removed and
// attribute types are upper-cased ("cn" → "CN"). Attribute values, and the
// order of the RDNs, are kept exactly: "CN=a,O=b" and "O=b,CN=a" are
// different subjects. Escaped characters ("\,") and double-quoted values
// are respected, so an escaped comma does not split an RDN.
func NormalizeDN(dn string) (string, error) {
	rdns, err := splitUnescaped(dn, ',')
	if err != nil {
		return "", err
	}
	if len(rdns) == 1 && strings.TrimSpace(rdns[0]) == "" {
		return "", errors.New("empty distinguished name")
	}
	out := make([]string, 0, len(rdns))
	for _, rdn := range rdns {
		atvs, err := splitUnescaped(rdn, '+')
		if err != nil {
			return "", err
		}
		parts := make([]string, 0, len(atvs))
		for _, atv := range atvs {
			typ, value, ok := strings.Cut(atv, "=")
			typ = strings.ToUpper(strings.TrimSpace(typ))
			if !ok || typ == "" {
				return "", errors.New("distinguished name " + quoteForError(dn) + ": each part must be TYPE=value")
			}
			parts = append(parts, typ+"="+trimUnescapedSpace(value))
		}
		out = append(out, strings.Join(parts, "+"))
	}
	return strings.Join(out, ","), nil
}

// splitUnescaped splits s at sep where sep is neither escaped with a
// backslash nor inside double quotes.
func splitUnescaped(s string, sep byte) ([]string, error) {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++ // skip the escaped character
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("distinguished name has an unterminated quote")
	}
	return append(parts, s[start:]), nil
}

// trimUnescapedSpace trims leading spaces and trailing spaces that are not
// escaped ("a\ " keeps its escaped trailing space).
func trimUnescapedSpace(v string) string {
	v = strings.TrimLeft(v, " ")
	for strings.HasSuffix(v, " ") && !strings.HasSuffix(v, "\\ ") {
		v = v[:len(v)-1]
	}
	return v
}

// quoteForError keeps error messages short; a DN is not secret.
func quoteForError(dn string) string {
	if len(dn) > 80 {
		dn = dn[:80] + "..."
	}
	return "\"" + dn + "\""
}

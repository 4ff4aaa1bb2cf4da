package endpointauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func bearer(v ...string) http.Header {
	h := http.Header{}
	for _, s := range v {
		h.Add("Authorization", s)
	}
	return h
}

func TestNewRefuses(t *testing.T) {
	cases := []struct {
		name     string
		tokens   []string
		subjects []string
		want     string
	}{
		{"three tokens", []string{"a", "b", "c"}, nil, "endpoint authentication: 3 bearer tokens configured, at most 2 are allowed"},
		{"empty token", []string{"a", ""}, nil, "endpoint authentication: bearer token [1] is empty"},
		{"token with space", []string{"a b"}, nil, "endpoint authentication: bearer token [0] contains whitespace"},
		{"empty subject", nil, []string{" "}, "endpoint authentication: client certificate subject [0]: empty distinguished name"},
		{"subject without =", nil, []string{"CN=a,example"}, `endpoint authentication: client certificate subject [0]: distinguished name "CN=a,example": each part must be TYPE=value`},
		{"unterminated quote", nil, []string{`CN="a`}, "endpoint authentication: client certificate subject [0]: distinguished name has an unterminated quote"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.tokens, tc.subjects)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEmptyPolicyAllowsAll(t *testing.T) {
	var nilPolicy *Policy
	empty, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Policy{nilPolicy, empty, {}} {
		if !p.Empty() || p.Check(http.Header{}, "") != nil || p.Check(bearer("Bearer x"), "CN=x") != nil {
			t.Fatalf("policy %+v did not allow everyone", p)
		}
	}
}

func TestBearer(t *testing.T) {
	p, err := New([]string{"current-token", "next-token-longer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header http.Header
		want   error
	}{
		{"current", bearer("Bearer current-token"), nil},
		{"next (rotation)", bearer("Bearer next-token-longer"), nil},
		{"scheme case-insensitive", bearer("BEARER current-token"), nil},
		{"extra spaces", bearer("  Bearer   current-token  "), nil},
		{"missing", http.Header{}, ErrMissingBearer},
		{"wrong", bearer("Bearer current-tokeN"), ErrBadBearer},
		{"prefix of a token", bearer("Bearer current"), ErrBadBearer},
		{"token plus suffix", bearer("Bearer current-token2"), ErrBadBearer},
		{"empty token", bearer("Bearer "), ErrBadBearer},
		{"no scheme", bearer("current-token"), ErrBadBearer},
		{"basic", bearer("Basic current-token"), ErrBadBearer},
		{"two headers", bearer("Bearer current-token", "Bearer next-token-longer"), ErrBadBearer},
		{"client cert does not replace the token", bearer(), ErrMissingBearer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Check(tc.header, "CN=anyone"); !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	p, err := New(nil, []string{"CN=kube-apiserver, O=Example Corp", `cn=other\, inc,O=x`})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		subject string
		want    error
	}{
		{"CN=kube-apiserver,O=Example Corp", nil},
		{" CN = kube-apiserver ,  O = Example Corp ", nil},
		{"cn=kube-apiserver,o=Example Corp", nil},
		{`CN=other\, inc,O=x`, nil},
		{"CN=kube-apiserver,O=Example corp", ErrSubjectNotAllowed},
		{"O=Example Corp,CN=kube-apiserver", ErrSubjectNotAllowed},
		{"CN=kube-apiserver", ErrSubjectNotAllowed},
		{"CN=kube-apiserver,O=Example Corp,C=US", ErrSubjectNotAllowed},
		{"CN=other,inc,O=x", ErrSubjectNotAllowed},
		{"", ErrMissingClientCert},
		{"garbage", ErrSubjectNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.subject, func(t *testing.T) {
			if err := p.Check(bearer("Bearer ignored"), tc.subject); !errors.Is(err, tc.want) {
				t.Fatalf("Check(%q) = %v, want %v", tc.subject, err, tc.want)
			}
		})
	}
}

func TestBothRequired(t *testing.T) {
	p, err := New([]string{"tok"}, []string{"CN=kube-apiserver"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.RequiresBearer() || !p.RequiresClientCert() {
		t.Fatal("both kinds should be required")
	}
	checks := []struct {
		header  http.Header
		subject string
		want    error
	}{
		{bearer("Bearer tok"), "CN=kube-apiserver", nil},
		{bearer("Bearer tok"), "", ErrMissingClientCert},
		{bearer("Bearer tok"), "CN=someone", ErrSubjectNotAllowed},
		{http.Header{}, "CN=kube-apiserver", ErrMissingBearer},
		{bearer("Bearer bad"), "CN=kube-apiserver", ErrBadBearer},
	}
	for _, c := range checks {
		if err := p.Check(c.header, c.subject); !errors.Is(err, c.want) {
			t.Errorf("Check(%v, %q) = %v, want %v", c.header, c.subject, err, c.want)
		}
	}
}

func TestErrorsNeverQuoteCredentials(t *testing.T) {
	p, _ := New([]string{"very-secret"}, nil)
	err := p.Check(bearer("Bearer very-secret-guess"), "")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v", err)
	}
}

func TestNormalizeDN(t *testing.T) {
	cases := map[string]string{
		"CN=a, O=b":             "CN=a,O=b",
		"cn = a + uid = 7 ,o=b": "CN=a+UID=7,O=b",
		`CN=a\, b,O=c`:          `CN=a\, b,O=c`,
		`CN="a, b",O=c`:         `CN="a, b",O=c`,
		`CN=trailing\ `:         `CN=trailing\ `,
	}
	for in, want := range cases {
		got, err := NormalizeDN(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

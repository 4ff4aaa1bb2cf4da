// Package endpointauth decides whether a caller may use the webhook endpoint
// at all, before any TokenReview body is read.
//
// It owns two credentials kube-apiserver can present through its webhook
// kubeconfig (it cannot sign AWS SigV4 requests):
//
//   - a shared bearer token (kubeconfig users[].user.token, sent as
//     "Authorization: Bearer ..."), of which up to two are accepted so that
//     one can be rotated without downtime; tokens are compared in constant
//     time over SHA-256 digests, so neither the content nor the length of a
//     configured token leaks through timing;
//   - the subject DN of a client certificate that the front (API Gateway
//     mutual TLS, or the local TLS server) has already verified against a
//     trust store; this package only pins the subject, it does not verify
//     certificates.
//
// Combination rule: an empty Policy allows every caller. When only one kind
// of credential is configured, that kind is required. When both are
// configured, BOTH are required (a leaked bearer token alone, or a client
// certificate alone, is not enough). This is the stricter reading and the
// one recommended for production (mutual TLS plus a bearer token).
package endpointauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MaxBearerTokens is how many bearer tokens a Policy accepts at once: the
// current one and the one being rotated in or out.
const MaxBearerTokens = 2

// Errors returned by Check. They never contain the presented or configured
// credentials, so they are safe to log and to return to the caller.
var (
	// ErrMissingBearer: a bearer token is required and none was presented.
	ErrMissingBearer = errors.New("missing bearer token")
	// ErrBadBearer: the presented bearer token is not one of the accepted
	// ones, or the Authorization header is malformed.
	ErrBadBearer = errors.New("invalid bearer token")
	// ErrMissingClientCert: a client certificate is required and the front
	// reported none.
	ErrMissingClientCert = errors.New("missing client certificate")
	// ErrSubjectNotAllowed: the client certificate's subject is not on the
	// allow-list.
	ErrSubjectNotAllowed = errors.New("client certificate subject not allowed")
)

// Policy is an immutable set of accepted endpoint credentials. The zero
// value and a nil *Policy allow every caller. It is safe for concurrent use.
type Policy struct {
	tokens   [][sha256.Size]byte
	subjects map[string]struct{}
}

// New builds a Policy from at most two bearer tokens and any number of
// client-certificate subject DNs. Tokens must be non-empty and contain no
// whitespace (kube-apiserver sends them verbatim after "Bearer "); subjects
// must parse as DNs ("CN=a,O=b"). Either list may be empty.
func New(bearerTokens []string, certSubjects []string) (*Policy, error) {
	if len(bearerTokens) > MaxBearerTokens {
		return nil, fmt.Errorf("endpoint authentication: %d bearer tokens configured, at most %d are allowed", len(bearerTokens), MaxBearerTokens)
	}
	p := &Policy{}
	for i, t := range bearerTokens {
		if t == "" {
			return nil, fmt.Errorf("endpoint authentication: bearer token [%d] is empty", i)
		}
		if strings.ContainsAny(t, " \t\r\n") {
			return nil, fmt.Errorf("endpoint authentication: bearer token [%d] contains whitespace", i)
		}
		p.tokens = append(p.tokens, sha256.Sum256([]byte(t)))
	}
	for i, s := range certSubjects {
		n, err := NormalizeDN(s)
		if err != nil {
			return nil, fmt.Errorf("endpoint authentication: client certificate subject [%d]: %w", i, err)
		}
		if p.subjects == nil {
			p.subjects = make(map[string]struct{}, len(certSubjects))
		}
		p.subjects[n] = struct{}{}
	}
	return p, nil
}

// Empty reports whether the policy allows every caller.
func (p *Policy) Empty() bool {
	return p == nil || (len(p.tokens) == 0 && len(p.subjects) == 0)
}

// RequiresBearer reports whether a bearer token is required.
func (p *Policy) RequiresBearer() bool { return p != nil && len(p.tokens) > 0 }

// RequiresClientCert reports whether a client certificate is required.
func (p *Policy) RequiresClientCert() bool { return p != nil && len(p.subjects) > 0 }

// Check returns nil when the caller may use the endpoint. header holds the
// request's headers (canonical keys, as http.Header.Add makes them);
// clientCertSubject is the subject DN of a client certificate the front has
// verified, or "" when there is none. The error is one of the Err values
// above.
func (p *Policy) Check(header http.Header, clientCertSubject string) error {
	if p.Empty() {
		return nil
	}
	if p.RequiresBearer() {
		if err := p.checkBearer(header); err != nil {
			return err
		}
	}
	if p.RequiresClientCert() {
		if err := p.checkSubject(clientCertSubject); err != nil {
			return err
		}
	}
	return nil
}

func (p *Policy) checkBearer(header http.Header) error {
	values := header.Values("Authorization")
	if len(values) == 0 {
		return ErrMissingBearer
	}
	if len(values) > 1 {
		return ErrBadBearer
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ErrBadBearer
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return ErrBadBearer
	}
	got := sha256.Sum256([]byte(token))
	// Compare against every slot without stopping early, so the time taken
	// does not tell which slot matched.
	match := 0
	for i := range p.tokens {
		match |= subtle.ConstantTimeCompare(got[:], p.tokens[i][:])
	}
	if match != 1 {
		return ErrBadBearer
	}
	return nil
}

func (p *Policy) checkSubject(subject string) error {
	if strings.TrimSpace(subject) == "" {
		return ErrMissingClientCert
	}
	n, err := NormalizeDN(subject)
	if err != nil {
		return ErrSubjectNotAllowed
	}
	if _, ok := p.subjects[n]; !ok {
		return ErrSubjectNotAllowed
	}
	return nil
}

package keys

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// cappedTransport wraps the issuer's transport for one JWKS fetch made by
// jwkset. jwkset decodes the response with a json.Decoder straight off the
// body and has no size limit, so a 200 response is read here, up to
// maxBody bytes, before jwkset sees it: a larger body is an error (the
// fetch fails, the previous keys stay), never a silent truncation. The
// bytes jwkset decoded and the last status are kept for this package's own
// checks on the same document (see inspectJWKS) and for error context.
//
// A cappedTransport serves one fetch; it is not shared between fetches.
type cappedTransport struct {
	base http.RoundTripper

	status int    // status of the last response, 0 before any
	body   []byte // the 200 body handed to jwkset
}

// jwksAccept is the Accept header of a JWKS request.
const jwksAccept = "application/jwk-set+json, application/json;q=0.9"

// RoundTrip implements http.RoundTripper.
func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Accept") == "" {
		// RFC 7517's media type first: kube-apiserver's /openid/v1/jwks
		// answers 406 to a client that accepts only application/json.
		req = req.Clone(req.Context())
		req.Header.Set("Accept", jwksAccept)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		// jwkset reads no body but a 200's; the client drains at most a few
		// KiB of a redirect's.
		return resp, nil
	}
	body, err := readCapped(resp)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// readCapped reads a whole response body of at most maxBody bytes.
func readCapped(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxBody {
		return nil, fmt.Errorf("body of %d bytes exceeds the %d-byte limit", resp.ContentLength, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("body exceeds the %d-byte limit", maxBody)
	}
	return body, nil
}

// withCappedTransport returns a shallow copy of c (same trust, redirect
// policy and timeout) whose transport is a fresh cappedTransport.
func withCappedTransport(c *http.Client) (*http.Client, *cappedTransport) {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	t := &cappedTransport{base: base}
	cc := *c
	cc.Transport = t
	return &cc, t
}

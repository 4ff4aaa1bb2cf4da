package lambdaevent

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

// FromHTTP converts a net/http request into the HTTP API 2.0 event API
// Gateway would have sent for it: lower-case header names with repeated
// values joined by ",", the raw path and query, the body (base64 when it is
// not UTF-8), and, when the TLS server verified a client certificate,
// requestContext.authentication.clientCert with the subject DN in the
// "CN=...,O=..." form API Gateway uses.
//
// At most maxBody+1 bytes are read (maxBody <= 0 means
// tokenreview.MaxBodyBytes); a longer body is cut there, so that the
// handler, whose limit is tokenreview.MaxBodyBytes, refuses it as too large
// after endpoint authentication. Pass tokenreview.MaxBodyBytes. The error
// is a failure to read the body.
func FromHTTP(r *http.Request, maxBody int64) (events.APIGatewayV2HTTPRequest, error) {
	if maxBody <= 0 {
		maxBody = tokenreview.MaxBodyBytes
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("reading the request body: %w", err)
		}
		body = b
	}
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        make(map[string]string, len(r.Header)),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   "$default",
			Stage:      "$default",
			RequestID:  newRequestID(),
			DomainName: r.Host,
			Time:       now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r.RemoteAddr),
				UserAgent: r.UserAgent(),
			},
		},
	}
	for k, vs := range r.Header {
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		ev.RequestContext.Authentication.ClientCert = events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{
			ClientCertPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})),
			SubjectDN:     c.Subject.String(),
			IssuerDN:      c.Issuer.String(),
			SerialNumber:  c.SerialNumber.String(),
			Validity: events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity{
				NotBefore: c.NotBefore.UTC().Format(time.RFC3339),
				NotAfter:  c.NotAfter.UTC().Format(time.RFC3339),
			},
		}
	}
	return ev, nil
}

// WriteHTTP writes an HTTP API 2.0 response to w as API Gateway would:
// headers (single- and multi-value), cookies as Set-Cookie, the status
// (200 when zero) and the body (decoded when isBase64Encoded).
func WriteHTTP(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(tokenreview.StatusBody(http.StatusInternalServerError, "response body is not valid base64"))
			return
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	code := resp.StatusCode
	if code == 0 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// ServeHTTP serves the webhook over net/http through the HTTP API adapter
// (FromHTTP, HTTPAPI with FrontLocal, WriteHTTP). Routing other paths
// (such as GET /healthz) is the caller's business.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := FromHTTP(r, tokenreview.MaxBodyBytes)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(tokenreview.StatusBody(http.StatusBadRequest, err.Error()))
		return
	}
	WriteHTTP(w, h.HTTPAPI(r.Context(), ev, FrontLocal))
}

// sourceIP is the host part of a remote address.
func sourceIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// newRequestID returns 16 random bytes in hex, standing in for API
// Gateway's request ID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

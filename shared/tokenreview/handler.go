// Package tokenreview owns the webhook's wire contract with kube-apiserver,
// independent of how the request arrived (API Gateway, Function URL, ALB,
// a direct Lambda invocation or the local HTTP server).
//
// A front turns what it received into a Request and calls Handler.Serve,
// which returns a Response to send back. Serve applies, in order:
//
//  1. endpoint authentication (endpointauth.Policy), before the body is
//     looked at: 401 with "WWW-Authenticate: Bearer";
//  2. the method: only POST (405 with "Allow: POST");
//  3. the body size: at most MaxBodyBytes (413);
//  4. the path and version: a path ending in
//     /apis/authentication.k8s.io/{v1,v1beta1}/tokenreviews answers like a
//     cluster's API (HTTP 201, version taken from the path, a different
//     apiVersion in the body is a 400); any other path is the webhook path
//     (kube-apiserver posts to whatever path its kubeconfig names,
//     conventionally /tokenreview) and answers HTTP 200;
//  5. on the API path only, the media types, in kube-apiserver's order:
//     Accept (406 when nothing acceptable), then Content-Type (415 when
//     unsupported); see below;
//  6. decoding: kind TokenReview, apiVersion authentication.k8s.io/v1
//     or v1beta1, non-empty spec.token; otherwise 400 with a metav1.Status.
//
// Media types. The webhook path is JSON only and ignores Content-Type and
// Accept: kube-apiserver's webhook client always sends and reads
// JSON. The API path speaks what a cluster speaks for TokenReview, so that
// client-go's generated clients work with their defaults (Content-Type
// application/vnd.kubernetes.protobuf, Accept
// "application/vnd.kubernetes.protobuf,application/json"): the request
// body is application/json (also when Content-Type is absent) or
// application/vnd.kubernetes.protobuf, and the answer is negotiated from
// Accept between the same two, JSON when Accept is absent or "*/*".
// Protobuf is read and written by apimachinery's own serializer
// (runtime/serializer/protobuf) over a scheme holding both versions, built
// once at package initialisation. application/yaml is not served (a
// cluster serves it; no known client of this endpoint sends it): it is a
// 415 or, if it is the only type accepted, a 406. Refusals (4xx, 500) are
// always a JSON metav1.Status, whatever Accept says; client-go decodes an
// error by the response's Content-Type, so it reads them either way.
//
// Decoding choices: JSON field names are case-sensitive and unknown fields
// are ignored, as kube-apiserver's own decoder does by default; wrong JSON
// types are refused. Unknown protobuf fields are skipped, as the generated
// unmarshalers do. A body without apiVersion and kind (JSON fields, or the
// protobuf envelope's TypeMeta) is read as
// authentication.k8s.io/v1 on the webhook path (kube-apiserver's client
// always sends both; a missing pair is what a hand-written curl sends) and
// as the path's version on the API path; a wrong kind or version is a 400.
//
// The answer is a TokenReview of the version asked, in the negotiated
// media type (JSON on the webhook path), with apiVersion and
// kind set, status.authenticated, status.user, status.audiences and
// status.error; spec.token is never echoed. Every decision (authenticated,
// denied or unavailable) is HTTP 200 on the webhook path; only a bug (a
// panic in the reviewer) gives HTTP 500, which kube-apiserver retries.
//
// status.error and caching: kube-apiserver caches a denial (for
// --authentication-token-webhook-cache-ttl, 2m by default) only when
// status.error is empty. With DenialReasons set, a denial carries
// "<reason>: <message>": operators see why in kube-apiserver's log, but a
// client retrying a bad token reaches the webhook on every request. With it
// unset, denials are cached and cheaper, at the cost of that log line. An
// Unavailable result ALWAYS carries status.error, so that a transient
// failure (keys not yet fetched) is never cached as a denial.
package tokenreview

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/endpointauth"
)

// MaxBodyBytes is the largest request body accepted (1 MiB). A TokenReview
// is a few kilobytes; the cap keeps decoding cheap and bounded.
const MaxBodyBytes = 1 << 20

// Reviewer decides one token. shared/verify's Authenticator implements it.
type Reviewer interface {
	Review(ctx context.Context, token string, audiences []string) decision.Result
}

// Request is one HTTP-like call, whatever front it came through.
type Request struct {
	// Method is the HTTP method ("POST").
	Method string
	// Path is the request path without query string.
	Path string
	// Header holds the request headers with canonical keys.
	Header http.Header
	// Body is the raw (already base64-decoded) request body.
	Body []byte
	// ClientCertSubject is the subject DN of a client certificate the
	// front verified (API Gateway mutual TLS, local TLS), or "".
	ClientCertSubject string
	// RequestID identifies the call in logs (the Lambda request ID).
	RequestID string
	// Front names the front the call came through, for logs and metrics.
	Front string
}

// Response is what the front sends back.
type Response struct {
	StatusCode int
	// Header always has Content-Type and Cache-Control.
	Header http.Header
	// Body is JSON, except an API-path answer negotiated as
	// application/vnd.kubernetes.protobuf, which is binary (not UTF-8): a
	// front whose payload is text must carry it base64-encoded.
	Body []byte
}

// Event describes what one call to Serve produced, for the log line and
// metrics. It never holds the token.
type Event struct {
	RequestID string
	Front     string
	Method    string
	Path      string
	// APIPath is true when the call used the Kubernetes API path.
	APIPath bool
	// APIVersion is the TokenReview version answered, "" when the request
	// was refused before its version was known.
	APIVersion string
	// Reviewed is true when the Reviewer ran (or panicked); Result is
	// meaningful only then.
	Reviewed bool
	Result   decision.Result
	// RequestAudiences are the spec.audiences of the request.
	RequestAudiences []string
	// HTTPStatus is the status code answered.
	HTTPStatus int
	// Problem explains a refused call (4xx) or a failure (5xx); "" for a
	// reviewed call answered normally. It never holds the token.
	Problem string
	// Stack is the goroutine stack of a recovered panic.
	Stack []byte
	// Latency is the time Serve took, up to building the response.
	Latency time.Duration
}

// Handler serves TokenReview requests. Its fields are read-only once
// serving starts; it is safe for concurrent use.
type Handler struct {
	// Reviewer decides the tokens. A nil Reviewer fails every review with
	// HTTP 500.
	Reviewer Reviewer
	// Auth restricts who may call the endpoint; nil allows everyone.
	Auth *endpointauth.Policy
	// DenialReasons puts "<reason>: <message>" in status.error of denials
	// (see the package comment for the caching trade-off).
	DenialReasons bool
	// Observe, if set, is called once per Serve with what happened.
	Observe func(context.Context, Event)
	// Now is the clock for Latency; nil means time.Now.
	Now func() time.Time
}

// Serve answers one request. It never panics: a panic in the Reviewer (or
// anywhere in Serve) becomes an HTTP 500 metav1.Status, which kube-apiserver
// retries, and the Handler keeps serving.
func (h *Handler) Serve(ctx context.Context, req Request) (resp Response) {
	now := h.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	ev := Event{RequestID: req.RequestID, Front: req.Front, Method: req.Method, Path: req.Path}
	defer func() {
		if v := recover(); v != nil {
			ev.Reviewed = true
			ev.Result = decision.Result{Outcome: decision.Unavailable, Reason: decision.Internal, Message: "panic while reviewing"}
			ev.Problem = fmt.Sprintf("panic: %v", v)
			ev.Stack = debug.Stack()
			resp = statusResponse(http.StatusInternalServerError, "internal error while reviewing the token")
		}
		ev.HTTPStatus = resp.StatusCode
		ev.Latency = now().Sub(start)
		if h.Observe != nil {
			h.Observe(ctx, ev)
		}
	}()
	return h.serve(ctx, req, &ev)
}

func (h *Handler) serve(ctx context.Context, req Request, ev *Event) Response {
	if err := h.Auth.Check(req.Header, req.ClientCertSubject); err != nil {
		ev.Problem = "endpoint authentication: " + err.Error()
		return unauthorized(err)
	}
	if req.Method != http.MethodPost {
		ev.Problem = "method " + short(req.Method) + " not allowed"
		return methodNotAllowed(short(req.Method))
	}
	if len(req.Body) > MaxBodyBytes {
		ev.Problem = fmt.Sprintf("body of %d bytes exceeds %d", len(req.Body), MaxBodyBytes)
		return statusResponse(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
	}
	pathVersion := apiPathVersion(req.Path)
	ev.APIPath = pathVersion != ""
	inType, outType := MediaTypeJSON, MediaTypeJSON
	if ev.APIPath {
		var ref *refusal
		if inType, outType, ref = negotiate(req.Header); ref != nil {
			ev.Problem = ref.problem
			return statusResponse(ref.code, ref.message)
		}
	}
	rv, err := decodeReview(req.Body, pathVersion, inType)
	if err != nil {
		ev.Problem = err.Error()
		return statusResponse(http.StatusBadRequest, err.Error())
	}
	ev.APIVersion = rv.apiVersion
	ev.RequestAudiences = rv.audiences
	if h.Reviewer == nil {
		panic("tokenreview: Handler.Reviewer is nil")
	}
	ev.Reviewed = true
	ev.Result = h.Reviewer.Review(ctx, rv.token, rv.audiences)
	body, err := encodeReview(rv, ev.Result, h.DenialReasons, outType)
	if err != nil {
		panic(fmt.Sprintf("encoding the TokenReview response: %v", err))
	}
	code := http.StatusOK
	if ev.APIPath {
		code = http.StatusCreated
	}
	return Response{StatusCode: code, Header: header(outType), Body: body}
}

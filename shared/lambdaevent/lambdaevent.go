// Package lambdaevent owns the AWS fronts of the webhook: it turns a Lambda
// invocation payload into a tokenreview.Request, and the
// tokenreview.Response back into the payload each front expects.
//
// One Lambda function serves every front. Handler implements
// lambda.Handler (Invoke(ctx, []byte) ([]byte, error)), so no reflection
// is involved, and tells the fronts apart from the event itself:
//
//   - requestContext.elb present: an ALB target group (ALBTargetGroupRequest);
//     answered with statusDescription, and with multiValueHeaders when the
//     request used them (the target group's multi-value mode);
//   - version "2.0": an API Gateway HTTP API (APIGatewayV2HTTPRequest), or a
//     Function URL (LambdaFunctionURLRequest) when requestContext.domainName
//     contains ".lambda-url."; the mutual-TLS subject comes from
//     requestContext.authentication.clientCert.subjectDN;
//   - httpMethod present and version absent or "1.0": an API Gateway REST
//     API proxy event (APIGatewayProxyRequest); the mutual-TLS subject comes
//     from requestContext.identity.clientCert.subjectDN;
//   - otherwise an object with kind, apiVersion or spec and no
//     requestContext: a direct invocation whose payload is the TokenReview
//     itself. The result is the answer's JSON (a TokenReview, or a
//     metav1.Status for a client mistake); HTTP status codes do not apply.
//     Endpoint authentication is skipped: the caller was authorised by IAM
//     (lambda:InvokeFunction) and has no headers to present.
//
// Anything else is answered with a metav1.Status of code 400, as the
// result of the invocation. Client mistakes never become a Lambda error
// (which would be retried by asynchronous invokers and pollute error
// metrics); Invoke returns an error only if the answer cannot be encoded.
//
// Function URLs and ALBs carry no verified client certificate (an ALB's
// X-Amzn-Mtls-* headers could be forged by a caller in passthrough mode and
// are not trusted), so only bearer tokens can protect them.
//
// FromHTTP, WriteHTTP and ServeHTTP let the local server go through the
// same HTTP API 2.0 adapter as the cloud: net/http → APIGatewayV2HTTPRequest
// → the same code → APIGatewayV2HTTPResponse → net/http.
package lambdaevent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tokenreview/webhook/shared/tokenreview"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Front names, as reported in tokenreview.Request.Front and Event.Front.
const (
	FrontREST        = "apigateway-rest"
	FrontHTTPAPI     = "apigateway-http"
	FrontFunctionURL = "function-url"
	FrontALB         = "alb"
	FrontDirect      = "direct"
	FrontLocal       = "local"
	// FrontUnknown is reported for payloads that match no front.
	FrontUnknown = "unknown"
)

// Handler adapts a tokenreview.Handler to Lambda and to net/http.
type Handler struct {
	h *tokenreview.Handler
}

// NewHandler returns the handler for h: pass it to lambda.Start, or use it
// as an http.Handler. It implements lambda.Handler without reflection.
func NewHandler(h *tokenreview.Handler) *Handler {
	return &Handler{h: h}
}

// probe is the part of any payload that tells the fronts apart.
type probe struct {
	Version        *string          `json:"version"`
	HTTPMethod     *string          `json:"httpMethod"`
	Kind           *string          `json:"kind"`
	APIVersion     *string          `json:"apiVersion"`
	Spec           json.RawMessage  `json:"spec"`
	RequestContext *requestContextP `json:"requestContext"`
}

type requestContextP struct {
	ELB        json.RawMessage `json:"elb"`
	DomainName string          `json:"domainName"`
}

// Sniff names the front a payload came from (one of the Front constants).
func Sniff(payload []byte) string {
	var p probe
	if err := utiljson.Unmarshal(payload, &p); err != nil {
		return FrontUnknown
	}
	rc := p.RequestContext
	switch {
	case rc != nil && len(rc.ELB) > 0 && string(rc.ELB) != "null":
		return FrontALB
	case p.Version != nil && *p.Version == "2.0":
		if rc != nil && strings.Contains(rc.DomainName, ".lambda-url.") {
			return FrontFunctionURL
		}
		return FrontHTTPAPI
	case p.HTTPMethod != nil && (p.Version == nil || *p.Version == "1.0"):
		return FrontREST
	case rc == nil && (p.Kind != nil || p.APIVersion != nil || len(p.Spec) > 0):
		return FrontDirect
	}
	return FrontUnknown
}

// Invoke answers one Lambda invocation.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var out any
	switch front := Sniff(payload); front {
	case FrontALB:
		out = h.alb(ctx, payload)
	case FrontHTTPAPI:
		out = h.httpAPI(ctx, payload, FrontHTTPAPI)
	case FrontFunctionURL:
		out = h.functionURL(ctx, payload)
	case FrontREST:
		out = h.rest(ctx, payload)
	case FrontDirect:
		// The same handler without endpoint authentication: IAM authorised
		// the caller. Copied per call so later changes to h are seen.
		direct := *h.h
		direct.Auth = nil
		resp := direct.Serve(ctx, tokenreview.Request{
			Method:    http.MethodPost,
			Path:      "/",
			Header:    http.Header{},
			Body:      payload,
			RequestID: lambdaRequestID(ctx, ""),
			Front:     FrontDirect,
		})
		return resp.Body, nil
	default:
		return h.unknown(ctx), nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encoding the Lambda response: %w", err)
	}
	return b, nil
}

// unknown answers a payload that matches no front, and reports it.
func (h *Handler) unknown(ctx context.Context) []byte {
	const msg = "unrecognised event: expected an API Gateway (REST or HTTP API), Function URL or ALB event, or a TokenReview"
	if h.h.Observe != nil {
		h.h.Observe(ctx, tokenreview.Event{
			RequestID:  lambdaRequestID(ctx, ""),
			Front:      FrontUnknown,
			HTTPStatus: http.StatusBadRequest,
			Problem:    "unrecognised event",
		})
	}
	return tokenreview.StatusBody(http.StatusBadRequest, msg)
}

// lambdaRequestID is the Lambda request ID when running in Lambda, else
// the front's own request ID.
func lambdaRequestID(ctx context.Context, fallback string) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return fallback
}

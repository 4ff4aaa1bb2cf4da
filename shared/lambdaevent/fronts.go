package lambdaevent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

// badEvent is the Response for an event of a known front that cannot be
// decoded (wrong JSON types, bad base64).
func badEvent(format string, args ...any) tokenreview.Response {
	msg := fmt.Sprintf(format, args...)
	return tokenreview.Response{
		StatusCode: http.StatusBadRequest,
		Header:     http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
		Body:       tokenreview.StatusBody(http.StatusBadRequest, msg),
	}
}

// decodeBody returns the raw body of an event.
func decodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("body is marked isBase64Encoded but is not valid base64: %w", err)
	}
	return b, nil
}

// encodeBody renders a response for a front: a JSON body as is, anything
// else (a protobuf TokenReview on the Kubernetes API path) base64-encoded
// with isBase64Encoded, since a Lambda result is JSON text and the fronts
// would otherwise hand binary bytes on as text (or, for invalid UTF-8, as
// U+FFFD).
func encodeBody(resp tokenreview.Response) (string, bool) {
	if mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); strings.TrimSpace(mt) == tokenreview.MediaTypeJSON && utf8.Valid(resp.Body) {
		return string(resp.Body), false
	}
	return base64.StdEncoding.EncodeToString(resp.Body), true
}

// headerFrom builds canonical request headers from a front's single- and
// multi-value maps. Multi-value entries win where both name a header (REST
// events carry both, the multi-value map being complete).
func headerFrom(single map[string]string, multi map[string][]string) http.Header {
	h := make(http.Header, len(single)+len(multi))
	for k, vs := range multi {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range single {
		if _, ok := h[http.CanonicalHeaderKey(k)]; !ok {
			h.Add(k, v)
		}
	}
	return h
}

// singleHeaders flattens response headers for fronts with one value per
// name; repeated values are joined with ", " as HTTP allows.
func singleHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func (h *Handler) rest(ctx context.Context, payload []byte) events.APIGatewayProxyResponse {
	var ev events.APIGatewayProxyRequest
	resp := h.serveEvent(ctx, FrontREST, payload, &ev, func() (tokenreview.Request, error) {
		body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
		subject := ""
		if cc := ev.RequestContext.Identity.ClientCert; cc != nil {
			subject = cc.SubjectDN
		}
		return tokenreview.Request{
			Method:            ev.HTTPMethod,
			Path:              ev.Path,
			Header:            headerFrom(ev.Headers, ev.MultiValueHeaders),
			Body:              body,
			ClientCertSubject: subject,
			RequestID:         lambdaRequestID(ctx, ev.RequestContext.RequestID),
			Front:             FrontREST,
		}, err
	})
	body, b64 := encodeBody(resp)
	return events.APIGatewayProxyResponse{StatusCode: resp.StatusCode, Headers: singleHeaders(resp.Header), Body: body, IsBase64Encoded: b64}
}

func (h *Handler) httpAPI(ctx context.Context, payload []byte, front string) events.APIGatewayV2HTTPResponse {
	var ev events.APIGatewayV2HTTPRequest
	resp := h.serveEvent(ctx, front, payload, &ev, func() (tokenreview.Request, error) {
		return h.httpAPIRequest(ctx, &ev, front)
	})
	return v2Response(resp)
}

// HTTPAPI answers one HTTP API 2.0 event already decoded; front names it in
// logs and metrics (FrontHTTPAPI, or FrontLocal for the local server).
func (h *Handler) HTTPAPI(ctx context.Context, ev events.APIGatewayV2HTTPRequest, front string) events.APIGatewayV2HTTPResponse {
	return v2Response(h.serveEvent(ctx, front, nil, nil, func() (tokenreview.Request, error) {
		return h.httpAPIRequest(ctx, &ev, front)
	}))
}

func (h *Handler) httpAPIRequest(ctx context.Context, ev *events.APIGatewayV2HTTPRequest, front string) (tokenreview.Request, error) {
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	return tokenreview.Request{
		Method:            ev.RequestContext.HTTP.Method,
		Path:              ev.RawPath,
		Header:            headerFrom(ev.Headers, nil),
		Body:              body,
		ClientCertSubject: ev.RequestContext.Authentication.ClientCert.SubjectDN,
		RequestID:         lambdaRequestID(ctx, ev.RequestContext.RequestID),
		Front:             front,
	}, err
}

func v2Response(resp tokenreview.Response) events.APIGatewayV2HTTPResponse {
	body, b64 := encodeBody(resp)
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.StatusCode, Headers: singleHeaders(resp.Header), Body: body, IsBase64Encoded: b64}
}

func (h *Handler) functionURL(ctx context.Context, payload []byte) events.LambdaFunctionURLResponse {
	var ev events.LambdaFunctionURLRequest
	resp := h.serveEvent(ctx, FrontFunctionURL, payload, &ev, func() (tokenreview.Request, error) {
		body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
		return tokenreview.Request{
			Method:    ev.RequestContext.HTTP.Method,
			Path:      ev.RawPath,
			Header:    headerFrom(ev.Headers, nil),
			Body:      body,
			RequestID: lambdaRequestID(ctx, ev.RequestContext.RequestID),
			Front:     FrontFunctionURL,
		}, err
	})
	body, b64 := encodeBody(resp)
	return events.LambdaFunctionURLResponse{StatusCode: resp.StatusCode, Headers: singleHeaders(resp.Header), Body: body, IsBase64Encoded: b64}
}

func (h *Handler) alb(ctx context.Context, payload []byte) events.ALBTargetGroupResponse {
	var ev events.ALBTargetGroupRequest
	resp := h.serveEvent(ctx, FrontALB, payload, &ev, func() (tokenreview.Request, error) {
		body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
		return tokenreview.Request{
			Method:    ev.HTTPMethod,
			Path:      ev.Path,
			Header:    headerFrom(ev.Headers, ev.MultiValueHeaders),
			Body:      body,
			RequestID: lambdaRequestID(ctx, ""),
			Front:     FrontALB,
		}, err
	})
	body, b64 := encodeBody(resp)
	out := events.ALBTargetGroupResponse{
		StatusCode:        resp.StatusCode,
		StatusDescription: fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
		Body:              body,
		IsBase64Encoded:   b64,
	}
	// With multi-value headers enabled on the target group, ALB sends only
	// multiValueHeaders and reads only multiValueHeaders back.
	if len(ev.MultiValueHeaders) > 0 {
		out.MultiValueHeaders = map[string][]string(resp.Header)
	} else {
		out.Headers = singleHeaders(resp.Header)
	}
	return out
}

// serveEvent decodes payload into ev, builds the Request with build and
// serves it. A payload that does not decode into the front's type, or whose
// body is not valid base64, is answered with a 400 in the front's shape.
//
// Endpoint authentication still comes first: a caller that fails it gets
// the 401 of Serve (which never looks at the body), not the 400.
func (h *Handler) serveEvent(ctx context.Context, front string, payload []byte, ev any, build func() (tokenreview.Request, error)) tokenreview.Response {
	if payload != nil { // nil: ev is already decoded (HTTPAPI)
		if err := json.Unmarshal(payload, ev); err != nil {
			return h.refuse(ctx, front, "event does not match its front's shape: "+err.Error())
		}
	}
	req, err := build()
	if err != nil {
		if h.h.Auth.Check(req.Header, req.ClientCertSubject) != nil {
			req.Body = nil
			return h.h.Serve(ctx, req)
		}
		return h.refuse(ctx, front, err.Error())
	}
	return h.h.Serve(ctx, req)
}

// refuse answers and reports an event that could not be turned into a
// Request.
func (h *Handler) refuse(ctx context.Context, front, problem string) tokenreview.Response {
	if h.h.Observe != nil {
		h.h.Observe(ctx, tokenreview.Event{RequestID: lambdaRequestID(ctx, ""), Front: front, HTTPStatus: http.StatusBadRequest, Problem: problem})
	}
	return badEvent("%s", problem)
}

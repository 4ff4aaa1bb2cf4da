package lambdaevent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tokenreview/webhook/shared/endpointauth"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

func TestSniff(t *testing.T) {
	cases := map[string]string{
		`{"version":"2.0","requestContext":{"domainName":"id.execute-api.eu-west-1.amazonaws.com"}}`: FrontHTTPAPI,
		`{"version":"2.0","requestContext":{"domainName":"auth.example.com"}}`:                       FrontHTTPAPI,
		`{"version":"2.0","requestContext":{"domainName":"abc.lambda-url.eu-west-1.on.aws"}}`:        FrontFunctionURL,
		`{"httpMethod":"POST","requestContext":{"stage":"prod"}}`:                                    FrontREST,
		`{"version":"1.0","httpMethod":"POST","requestContext":{}}`:                                  FrontREST,
		`{"httpMethod":"POST","requestContext":{"elb":{"targetGroupArn":"arn"}}}`:                    FrontALB,
		`{"kind":"TokenReview","spec":{"token":"x"}}`:                                                FrontDirect,
		`{"apiVersion":"authentication.k8s.io/v1beta1"}`:                                             FrontDirect,
		`{"spec":{"token":"x"}}`:                                              FrontDirect,
		`{"kind":"SubjectAccessReview"}`:                                      FrontDirect,
		`{"kind":"TokenReview","requestContext":{}}`:                          FrontUnknown,
		`{"version":"3.0","httpMethod":"POST"}`:                               FrontUnknown,
		`{"httpMethod":"POST","requestContext":{"elb":null},"version":"1.0"}`: FrontREST,
		`{"Records":[]}`:                                                      FrontUnknown,
		`{}`:                                                                  FrontUnknown,
		`null`:                                                                FrontUnknown,
		`[1,2]`:                                                               FrontUnknown,
		`"TokenReview"`:                                                       FrontUnknown,
		`not json`:                                                            FrontUnknown,
		``:                                                                    FrontUnknown,
		`{"version":2}`:                                                       FrontUnknown,
		`{"Kind":"TokenReview"}`:                                              FrontUnknown,
		`{"version":"2.0","requestContext":{"domainName":"x.lambda-url.y.on.aws","elb":{"a":1}}}`:       FrontALB,
		`{"httpMethod":"GET","version":"2.0","requestContext":{"domainName":"id.execute-api.example"}}`: FrontHTTPAPI,
	}
	for payload, want := range cases {
		if got := Sniff([]byte(payload)); got != want {
			t.Errorf("Sniff(%s) = %q, want %q", payload, got, want)
		}
	}
}

// readEvent decodes one committed sample event into v.
func readEvent(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func invoke(t *testing.T, h *Handler, ev any, resp any) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Lambda error: %v", err)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// withAuth is the events handler with another endpoint policy.
func withAuth(t *testing.T, tokens, subjects []string) *Handler {
	t.Helper()
	base := eventsHandler(t, nil)
	pol, err := endpointauth.New(tokens, subjects)
	if err != nil {
		t.Fatal(err)
	}
	th := *base.h
	th.Auth = pol
	return NewHandler(&th)
}

func TestClientCertSubjectPerFront(t *testing.T) {
	h := withAuth(t, nil, []string{"CN=kube-apiserver,O=cluster-a"})

	var rest events.APIGatewayProxyRequest
	readEvent(t, "apigateway-rest.json", &rest)
	var restResp events.APIGatewayProxyResponse
	invoke(t, h, rest, &restResp)
	if restResp.StatusCode != 401 || !strings.Contains(restResp.Body, "missing client certificate") {
		t.Errorf("REST without certificate: %d %s", restResp.StatusCode, restResp.Body)
	}
	rest.RequestContext.Identity.ClientCert = &events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert{SubjectDN: "CN=kube-apiserver, O=cluster-a"}
	invoke(t, h, rest, &restResp)
	if restResp.StatusCode != 200 {
		t.Errorf("REST with certificate: %d %s", restResp.StatusCode, restResp.Body)
	}

	var v2 events.APIGatewayV2HTTPRequest
	readEvent(t, "http-api.json", &v2)
	v2.RequestContext.Authentication.ClientCert.SubjectDN = "CN=someone-else,O=cluster-a"
	var v2Resp events.APIGatewayV2HTTPResponse
	invoke(t, h, v2, &v2Resp)
	if v2Resp.StatusCode != 401 || !strings.Contains(v2Resp.Body, "client certificate subject not allowed") {
		t.Errorf("HTTP API with another subject: %d %s", v2Resp.StatusCode, v2Resp.Body)
	}
	v2.RequestContext.Authentication.ClientCert.SubjectDN = "CN=kube-apiserver,O=cluster-a"
	invoke(t, h, v2, &v2Resp)
	if v2Resp.StatusCode != 200 {
		t.Errorf("HTTP API with certificate: %d %s", v2Resp.StatusCode, v2Resp.Body)
	}

	// Function URLs and ALBs carry no verified certificate.
	var url events.LambdaFunctionURLRequest
	readEvent(t, "function-url.json", &url)
	var urlResp events.LambdaFunctionURLResponse
	invoke(t, h, url, &urlResp)
	if urlResp.StatusCode != 401 {
		t.Errorf("Function URL: %d %s", urlResp.StatusCode, urlResp.Body)
	}
	var alb events.ALBTargetGroupRequest
	readEvent(t, "alb.json", &alb)
	alb.Headers["x-amzn-mtls-clientcert-subject"] = "CN=kube-apiserver,O=cluster-a"
	var albResp events.ALBTargetGroupResponse
	invoke(t, h, alb, &albResp)
	if albResp.StatusCode != 401 || albResp.StatusDescription != "401 Unauthorized" {
		t.Errorf("ALB with a forged mTLS header: %d %q %s", albResp.StatusCode, albResp.StatusDescription, albResp.Body)
	}
}

func TestBadBase64(t *testing.T) {
	h := eventsHandler(t, nil)
	var v2 events.APIGatewayV2HTTPRequest
	readEvent(t, "http-api.json", &v2)
	v2.Body = "%%% not base64 %%%"
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, h, v2, &resp)
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, "body is marked isBase64Encoded but is not valid base64") {
		t.Errorf("bad base64: %d %s", resp.StatusCode, resp.Body)
	}
	// Endpoint authentication still comes first.
	v2.Headers["authorization"] = "Bearer wrong"
	invoke(t, h, v2, &resp)
	if resp.StatusCode != 401 {
		t.Errorf("bad base64 from an unauthenticated caller: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestHeaderNamesAnyCase(t *testing.T) {
	h := eventsHandler(t, nil)
	var rest events.APIGatewayProxyRequest
	readEvent(t, "apigateway-rest.json", &rest)
	auth := rest.Headers["Authorization"]
	delete(rest.Headers, "Authorization")
	delete(rest.MultiValueHeaders, "Authorization")
	rest.Headers["AUTHORIZATION"] = auth
	var resp events.APIGatewayProxyResponse
	invoke(t, h, rest, &resp)
	if resp.StatusCode != 200 {
		t.Errorf("upper-case header in Headers only: %d %s", resp.StatusCode, resp.Body)
	}
	rest.Headers["AUTHORIZATION"] = "Bearer stale"
	rest.MultiValueHeaders["authorization"] = []string{auth}
	invoke(t, h, rest, &resp)
	if resp.StatusCode != 200 {
		t.Errorf("multi-value header wins: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestEventOfWrongShape(t *testing.T) {
	var got []tokenreview.Event
	h := eventsHandler(t, func(_ context.Context, e tokenreview.Event) { got = append(got, e) })
	out, err := h.Invoke(context.Background(), []byte(`{"version":"2.0","headers":"not a map","requestContext":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, "event does not match its front") {
		t.Errorf("%d %s", resp.StatusCode, resp.Body)
	}
	if len(got) != 1 || got[0].Front != FrontHTTPAPI || got[0].HTTPStatus != 400 {
		t.Errorf("events %+v", got)
	}
}

func TestFromHTTP(t *testing.T) {
	var ev events.APIGatewayV2HTTPRequest
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		ev, err = FromHTTP(r, 8)
		if err != nil {
			t.Error(err)
		}
	}))
	cc := newClientCert(pkix.Name{CommonName: "kube-apiserver", Organization: []string{"cluster-a"}})
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: cc.pool}
	srv.StartTLS()
	defer srv.Close()
	pair, err := tls.X509KeyPair(cc.certPEM, cc.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/a%2Fb/tokenreview?timeout=30s", strings.NewReader("\xff\xfe0123456789"))
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ev.Version != "2.0" || ev.RawPath != "/a%2Fb/tokenreview" || ev.RawQueryString != "timeout=30s" ||
		ev.RequestContext.HTTP.Method != "POST" || ev.Headers["x-multi"] != "one,two" || ev.RequestContext.RequestID == "" {
		t.Errorf("event %+v", ev)
	}
	body, _ := base64.StdEncoding.DecodeString(ev.Body)
	if !ev.IsBase64Encoded || string(body) != "\xff\xfe0123456" {
		t.Errorf("body %q base64=%v: want the first maxBody+1 bytes, base64", body, ev.IsBase64Encoded)
	}
	if got := ev.RequestContext.Authentication.ClientCert.SubjectDN; got != "CN=kube-apiserver,O=cluster-a" {
		t.Errorf("subject %q", got)
	}
}

func TestWriteHTTP(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteHTTP(rec, events.APIGatewayV2HTTPResponse{
		StatusCode:        201,
		Headers:           map[string]string{"Content-Type": "application/json", "X-A": "single"},
		MultiValueHeaders: map[string][]string{"X-A": {"1", "2"}},
		Cookies:           []string{"c=1"},
		Body:              base64.StdEncoding.EncodeToString([]byte("{}")),
		IsBase64Encoded:   true,
	})
	if rec.Code != 201 || rec.Body.String() != "{}" || strings.Join(rec.Header().Values("X-A"), ",") != "1,2" ||
		rec.Header().Get("Set-Cookie") != "c=1" || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("%d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteHTTP(rec, events.APIGatewayV2HTTPResponse{Body: "plain"})
	if rec.Code != 200 || rec.Body.String() != "plain" {
		t.Errorf("%d %q", rec.Code, rec.Body.String())
	}
}

// BenchmarkInvokeHTTPAPI measures one HTTP API invocation end to end with
// the real verifier (RS256) on the committed sample event.
func BenchmarkInvokeHTTPAPI(b *testing.B) {
	h := eventsHandler(b, nil)
	payload, err := os.ReadFile(filepath.Join(eventsDir, "http-api.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzInvoke feeds arbitrary payloads to the Lambda handler: it must never
// return a Lambda error or panic, and must always answer JSON.
func FuzzInvoke(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	h := eventsHandler(f, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := h.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("Lambda error: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("answer is not JSON: %q", out)
		}
	})
}

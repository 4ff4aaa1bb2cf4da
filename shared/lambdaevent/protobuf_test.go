package lambdaevent

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/tokenreview/webhook/shared/tokenreview"
)

// TestProtobufThroughEveryFront sends client-go's default encoding of a
// TokenReview (protobuf) to the Kubernetes API path through each AWS front
// and decodes the answer as client-go would: a binary body must come back
// base64-encoded with isBase64Encoded, or Lambda's JSON result mangles it.
func TestProtobufThroughEveryFront(t *testing.T) {
	h := eventsHandler(t, nil)
	scheme := runtime.NewScheme()
	if err := authenticationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	codec := protobuf.NewSerializer(scheme, scheme)
	var req bytes.Buffer
	in := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: eventsToken(t)}}
	in.APIVersion, in.Kind = "authentication.k8s.io/v1", "TokenReview"
	if err := codec.Encode(in, &req); err != nil {
		t.Fatal(err)
	}
	body := base64.StdEncoding.EncodeToString(req.Bytes())
	const path = "/apis/authentication.k8s.io/v1/tokenreviews"
	var bearer string
	{
		var ev events.APIGatewayV2HTTPRequest
		readEvent(t, "http-api.json", &ev)
		bearer = ev.Headers["authorization"]
	}
	hdr := map[string]string{
		"authorization": bearer,
		"content-type":  tokenreview.MediaTypeProtobuf,
		"accept":        tokenreview.MediaTypeProtobuf + ", " + tokenreview.MediaTypeJSON,
	}

	check := func(front string, status int, out string, b64 bool) {
		t.Helper()
		if status != 201 || !b64 {
			t.Fatalf("%s: status %d, isBase64Encoded %v, body %q", front, status, b64, out)
		}
		raw, err := base64.StdEncoding.DecodeString(out)
		if err != nil {
			t.Fatalf("%s: %v", front, err)
		}
		obj, _, err := codec.Decode(raw, nil, nil)
		if err != nil {
			t.Fatalf("%s: decode protobuf answer: %v", front, err)
		}
		got := obj.(*authenticationv1.TokenReview).Status
		if !got.Authenticated || got.User.Username != "events:sam-local" {
			t.Errorf("%s: status %+v", front, got)
		}
	}

	var rest events.APIGatewayProxyRequest
	readEvent(t, "apigateway-rest.json", &rest)
	rest.Path, rest.Headers, rest.MultiValueHeaders, rest.Body, rest.IsBase64Encoded = path, hdr, nil, body, true
	var restResp events.APIGatewayProxyResponse
	invoke(t, h, rest, &restResp)
	check("rest", restResp.StatusCode, restResp.Body, restResp.IsBase64Encoded)

	var v2 events.APIGatewayV2HTTPRequest
	readEvent(t, "http-api.json", &v2)
	v2.RawPath, v2.Headers, v2.Body, v2.IsBase64Encoded = path, hdr, body, true
	var v2Resp events.APIGatewayV2HTTPResponse
	invoke(t, h, v2, &v2Resp)
	check("http-api", v2Resp.StatusCode, v2Resp.Body, v2Resp.IsBase64Encoded)

	var furl events.LambdaFunctionURLRequest
	readEvent(t, "function-url.json", &furl)
	furl.RawPath, furl.Headers, furl.Body, furl.IsBase64Encoded = path, hdr, body, true
	var furlResp events.LambdaFunctionURLResponse
	invoke(t, h, furl, &furlResp)
	check("function-url", furlResp.StatusCode, furlResp.Body, furlResp.IsBase64Encoded)

	var alb events.ALBTargetGroupRequest
	readEvent(t, "alb.json", &alb)
	alb.Path, alb.Headers, alb.MultiValueHeaders, alb.Body, alb.IsBase64Encoded = path, hdr, nil, body, true
	var albResp events.ALBTargetGroupResponse
	invoke(t, h, alb, &albResp)
	check("alb", albResp.StatusCode, albResp.Body, albResp.IsBase64Encoded)
}

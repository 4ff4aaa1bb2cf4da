//go:build ignore

// Command generate writes the sample events of this directory and the
// test issuer's config.yaml from the committed TEST-ONLY key
// testdata/issuer-key.pem (created on first run). RS256 signatures are
// deterministic, so running it again reproduces every file byte for byte:
//
//	go run ./events/generate.go
//
// The key, the tokens and the endpoint bearer token are test material with
// no value anywhere else: never trust this issuer outside tests.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

const (
	dir           = "events"
	keyFile       = "events/testdata/issuer-key.pem"
	issuerURL     = "https://issuer.events.tokenreview.test"
	audience      = "tokenreview-events"
	kid           = "events-test-2026"
	endpointToken = "events-endpoint-token-TEST-ONLY-not-a-secret"
	iat           = 1767225600 // 2026-01-01T00:00:00Z
	exp           = 4070908800 // 2099-01-01T00:00:00Z
)

const keyPreamble = `TEST ONLY: the private key of the sample events' test issuer
(events/config.yaml). It is public; anything it signs proves nothing.
Regenerate the events with: go run ./events/generate.go
`

func main() {
	key := loadOrCreateKey()
	good := sign(key, map[string]any{"iss": issuerURL, "sub": "sam-local", "aud": audience, "groups": []string{"events:readers"}, "iat": iat, "exp": exp})
	stranger := sign(key, map[string]any{"iss": "https://stranger.example", "sub": "sam-local", "aud": audience, "iat": iat, "exp": exp})

	writeConfig(key)
	auth := "Bearer " + endpointToken
	v1 := review("authentication.k8s.io/v1", good)
	v1beta1 := review("authentication.k8s.io/v1beta1", good)

	write("apigateway-rest.json", restEvent("POST", "/tokenreview", auth, b64(v1)))
	write("apigateway-rest-api-path.json", restEvent("POST", "/apis/authentication.k8s.io/v1/tokenreviews", auth, b64(v1)))
	write("http-api.json", httpAPIEvent("POST", "/tokenreview", auth, b64(v1beta1), true))
	write("function-url.json", functionURLEvent("POST", "/tokenreview", auth, v1))
	write("alb.json", albEvent("POST", "/tokenreview", auth, b64(v1), false))
	write("alb-multivalue.json", albEvent("POST", "/tokenreview", auth, b64(v1beta1), true))
	write("direct-v1.json", v1+"\n")
	write("direct-v1beta1.json", v1beta1+"\n")

	write("http-api-denied.json", httpAPIEvent("POST", "/tokenreview", auth, b64(review("authentication.k8s.io/v1", stranger)), true))
	write("http-api-invalid-json.json", httpAPIEvent("POST", "/tokenreview", auth, b64(`{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":`), true))
	write("http-api-wrong-kind.json", httpAPIEvent("POST", "/tokenreview", auth, b64(strings.Replace(v1, `"kind":"TokenReview"`, `"kind":"SubjectAccessReview"`, 1)), true))
	write("http-api-missing-token.json", httpAPIEvent("POST", "/tokenreview", auth, b64(`{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},"spec":{"audiences":["`+audience+`"]},"status":{"user":{}}}`), true))
	write("http-api-wrong-method.json", httpAPIEvent("GET", "/tokenreview", auth, "", false))
	write("http-api-bad-bearer.json", httpAPIEvent("POST", "/tokenreview", "Bearer not-the-endpoint-token", b64(v1), true))
	oversize := `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"` + strings.Repeat("A", 1<<20) + `"}}`
	write("http-api-oversize.json", httpAPIEvent("POST", "/tokenreview", auth, oversize, false))
	write("direct-missing-token.json", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["`+audience+`"]}}`+"\n")
	write("unknown-shape.json", `{"Records":[{"eventSource":"aws:sqs","body":"hello"}]}`+"\n")
}

func loadOrCreateKey() *rsa.PrivateKey {
	if b, err := os.ReadFile(keyFile); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			log.Fatalf("%s: no PEM block", keyFile)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			log.Fatalf("%s: %v", keyFile, err)
		}
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		log.Fatal(err)
	}
	out := keyPreamble + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err := os.WriteFile(keyFile, []byte(out), 0o644); err != nil {
		log.Fatal(err)
	}
	return k
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }

func sign(k *rsa.PrivateKey, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := b64url(h) + "." + b64url(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	if err != nil {
		log.Fatal(err)
	}
	return input + "." + b64url(sig)
}

// review is the body kube-apiserver sends (webhook-contract.md §1).
func review(apiVersion, token string) string {
	return `{"kind":"TokenReview","apiVersion":"` + apiVersion + `","metadata":{"creationTimestamp":null},"spec":{"token":"` + token + `","audiences":["` + audience + `"]},"status":{"user":{}}}`
}

func writeConfig(k *rsa.PrivateKey) {
	jwk := map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64url(k.N.Bytes()),
		"e": b64url(big.NewInt(int64(k.E)).Bytes()),
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	cfg := `# TEST ONLY: the static issuer behind the sample events of this directory.
# Its private key is committed (testdata/issuer-key.pem), so anything this
# issuer "signs" proves nothing: never use this file outside tests and
# ` + "`sam local invoke`" + `. Regenerate with: go run ./events/generate.go
apiVersion: tokenreview.dev/v1alpha1
kind: WebhookConfiguration
webhook:
  authentication:
    bearerTokens:
    - ` + endpointToken + `
  reportDenialReasons: true
jwt:
- issuer:
    url: ` + issuerURL + `
    audiences:
    - ` + audience + `
    jwks: '` + string(jwks) + `'
  claimMappings:
    username:
      claim: sub
      prefix: "events:"
    groups:
      claim: groups
      prefix: ""
  algorithms:
  - RS256
`
	write("config.yaml", cfg)
	env, _ := json.MarshalIndent(map[string]map[string]string{"TokenReviewFunction": {"TOKENREVIEW_CONFIG": cfg}}, "", "  ")
	if err := os.MkdirAll(filepath.Join(dir, "sam"), 0o755); err != nil {
		log.Fatal(err)
	}
	write("sam/env.json", string(env)+"\n")
}

func write(name, content string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", filepath.Join(dir, name))
}

// q quotes a JSON string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The shapes below follow `sam local generate-event` (apigateway aws-proxy,
// apigateway http-api-proxy, alb alb-request) and AWS's documented Function
// URL payload, with a TokenReview body, kube-apiserver's headers and the
// endpoint bearer token.

func restEvent(method, path, auth, body string) string {
	return `{
  "body": ` + q(body) + `,
  "resource": "/{proxy+}",
  "path": ` + q(path) + `,
  "httpMethod": ` + q(method) + `,
  "isBase64Encoded": true,
  "queryStringParameters": {
    "timeout": "30s"
  },
  "multiValueQueryStringParameters": {
    "timeout": [
      "30s"
    ]
  },
  "pathParameters": {
    "proxy": ` + q(strings.TrimPrefix(path, "/")) + `
  },
  "stageVariables": null,
  "headers": {
    "Accept": "application/json, */*",
    "Authorization": ` + q(auth) + `,
    "Content-Type": "application/json",
    "Host": "1234567890.execute-api.us-east-1.amazonaws.com",
    "User-Agent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000",
    "X-Forwarded-For": "203.0.113.10",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https"
  },
  "multiValueHeaders": {
    "Accept": [
      "application/json, */*"
    ],
    "Authorization": [
      ` + q(auth) + `
    ],
    "Content-Type": [
      "application/json"
    ],
    "Host": [
      "1234567890.execute-api.us-east-1.amazonaws.com"
    ],
    "User-Agent": [
      "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000"
    ],
    "X-Forwarded-For": [
      "203.0.113.10"
    ],
    "X-Forwarded-Port": [
      "443"
    ],
    "X-Forwarded-Proto": [
      "https"
    ]
  },
  "requestContext": {
    "accountId": "123456789012",
    "resourceId": "123456",
    "stage": "prod",
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "requestTime": "01/Jan/2026:00:00:00 +0000",
    "requestTimeEpoch": 1767225600000,
    "identity": {
      "cognitoIdentityPoolId": null,
      "accountId": null,
      "cognitoIdentityId": null,
      "caller": null,
      "accessKey": null,
      "sourceIp": "203.0.113.10",
      "cognitoAuthenticationType": null,
      "cognitoAuthenticationProvider": null,
      "userArn": null,
      "userAgent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000",
      "user": null
    },
    "path": ` + q("/prod"+path) + `,
    "resourcePath": "/{proxy+}",
    "httpMethod": ` + q(method) + `,
    "apiId": "1234567890",
    "protocol": "HTTP/1.1"
  }
}
`
}

func httpAPIEvent(method, path, auth, body string, isBase64 bool) string {
	return `{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": ` + q(path) + `,
  "rawQueryString": "timeout=30s",
  "headers": {
    "accept": "application/json, */*",
    "authorization": ` + q(auth) + `,
    "content-type": "application/json",
    "host": "id.execute-api.us-east-1.amazonaws.com",
    "user-agent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000"
  },
  "queryStringParameters": {
    "timeout": "30s"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "api-id",
    "domainName": "id.execute-api.us-east-1.amazonaws.com",
    "domainPrefix": "id",
    "http": {
      "method": ` + q(method) + `,
      "path": ` + q(path) + `,
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.10",
      "userAgent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000"
    },
    "requestId": "id",
    "routeKey": "$default",
    "stage": "$default",
    "time": "01/Jan/2026:00:00:00 +0000",
    "timeEpoch": 1767225600000
  },
  "body": ` + q(body) + `,
  "isBase64Encoded": ` + fmt.Sprint(isBase64) + `
}
`
}

func functionURLEvent(method, path, auth, body string) string {
	return `{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": ` + q(path) + `,
  "rawQueryString": "timeout=30s",
  "headers": {
    "accept": "application/json, */*",
    "authorization": ` + q(auth) + `,
    "content-type": "application/json",
    "host": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws",
    "user-agent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000",
    "x-amzn-trace-id": "Root=1-6774f600-0123456789abcdef01234567",
    "x-forwarded-for": "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https"
  },
  "queryStringParameters": {
    "timeout": "30s"
  },
  "requestContext": {
    "accountId": "anonymous",
    "apiId": "abcdefghijklmnopqrstuvwxyz0123456",
    "domainName": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws",
    "domainPrefix": "abcdefghijklmnopqrstuvwxyz0123456",
    "http": {
      "method": ` + q(method) + `,
      "path": ` + q(path) + `,
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.10",
      "userAgent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000"
    },
    "requestId": "6f1c5d2a-0000-4000-8000-000000000001",
    "routeKey": "$default",
    "stage": "$default",
    "time": "01/Jan/2026:00:00:00 +0000",
    "timeEpoch": 1767225600000
  },
  "body": ` + q(body) + `,
  "isBase64Encoded": false
}
`
}

func albEvent(method, path, auth, body string, multi bool) string {
	headers := `  "headers": {
    "accept": "application/json, */*",
    "authorization": ` + q(auth) + `,
    "content-type": "application/json",
    "host": "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
    "user-agent": "kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000",
    "x-amzn-trace-id": "Root=1-5c536348-3d683b8b04734faae651f476",
    "x-forwarded-for": "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https"
  },
  "queryStringParameters": {
    "timeout": "30s"
  },`
	if multi {
		headers = `  "multiValueHeaders": {
    "accept": ["application/json, */*"],
    "authorization": [` + q(auth) + `],
    "content-type": ["application/json"],
    "host": ["lambda-alb-123578498.us-east-1.elb.amazonaws.com"],
    "user-agent": ["kube-apiserver/v1.37.2 (linux/amd64) kubernetes/0000000"],
    "x-amzn-trace-id": ["Root=1-5c536348-3d683b8b04734faae651f476"],
    "x-forwarded-for": ["203.0.113.10"],
    "x-forwarded-port": ["443"],
    "x-forwarded-proto": ["https"]
  },
  "multiValueQueryStringParameters": {
    "timeout": ["30s"]
  },`
	}
	return `{
  "requestContext": {
    "elb": {
      "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tokenreview/49e9d65c45c6791a"
    }
  },
  "httpMethod": ` + q(method) + `,
  "path": ` + q(path) + `,
` + headers + `
  "body": ` + q(body) + `,
  "isBase64Encoded": true
}
`
}

package configsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/tokenreview/webhook/shared/configsource"
)

const secretConfig = "apiVersion: tokenreview.dev/v1alpha1\nkind: WebhookConfiguration\nwebhook:\n  authentication:\n    bearerTokens: [s3cr3t-bearer-value]\n"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// fakeSSM is an HTTP server speaking the SSM JSON 1.1 protocol for
// GetParameter: the real SDK client signs, serializes and parses against it.
type fakeSSM struct {
	mu       sync.Mutex
	params   map[string]string
	requests []ssmRequest
	delay    time.Duration
}

type ssmRequest struct {
	Target, ContentType, Authorization string
	Name                               string
	WithDecryption                     bool
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Name           string
		WithDecryption bool
	}
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	f.requests = append(f.requests, ssmRequest{
		Target: r.Header.Get("X-Amz-Target"), ContentType: r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"), Name: in.Name, WithDecryption: in.WithDecryption,
	})
	value, ok := f.params[in.Name]
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "req-1")
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"UnknownOperationException","message":"unexpected target"}`)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ParameterNotFound","message":""}`)
		return
	}
	out, _ := json.Marshal(map[string]any{"Parameter": map[string]any{
		"Name": in.Name, "Type": "SecureString", "Value": value, "Version": 3,
		"ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter" + in.Name,
	}})
	_, _ = w.Write(out)
}

func (f *fakeSSM) calls() []ssmRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ssmRequest(nil), f.requests...)
}

// realClient is the real aws-sdk-go-v2 SSM client aimed at the loopback server.
func realClient(url string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secretkey", ""),
		RetryMaxAttempts: 1,
	})
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(secretConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	data, origin, err := configsource.Load(context.Background(), env(map[string]string{configsource.EnvFile: path}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(data) != secretConfig || origin != "file:"+path {
		t.Fatalf("got %q from %q", data, origin)
	}
}

func TestLoadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, origin, err := configsource.Load(context.Background(), env(map[string]string{configsource.EnvFile: path}))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("want a not-exist error naming %s, got %v", path, err)
	}
	if origin != "file:"+path {
		t.Fatalf("origin %q", origin)
	}
}

func TestLoadInline(t *testing.T) {
	data, origin, err := configsource.Load(context.Background(), env(map[string]string{configsource.EnvInline: secretConfig}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(data) != secretConfig || origin != "env:TOKENREVIEW_CONFIG" {
		t.Fatalf("got %q from %q", data, origin)
	}
}

func TestLoadNeedsExactlyOneSource(t *testing.T) {
	_, _, err := configsource.Load(context.Background(), env(nil))
	if !errors.Is(err, configsource.ErrNoSource) {
		t.Fatalf("no variable: want ErrNoSource, got %v", err)
	}
	want := "configsource: no configuration source: set exactly one of TOKENREVIEW_CONFIG_FILE, TOKENREVIEW_CONFIG or TOKENREVIEW_CONFIG_PARAMETER"
	if err.Error() != want {
		t.Fatalf("message:\n got %s\nwant %s", err, want)
	}

	_, _, err = configsource.Load(context.Background(), env(map[string]string{
		configsource.EnvInline: secretConfig, configsource.EnvParameter: "/tokenreview/config",
	}))
	want = "configsource: TOKENREVIEW_CONFIG, TOKENREVIEW_CONFIG_PARAMETER are all set; set exactly one"
	if err == nil || err.Error() != want {
		t.Fatalf("two variables:\n got %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatal("error leaks the configuration")
	}

	// Whitespace-only counts as unset: CloudFormation renders an empty
	// parameter as "" and the template may set both variables.
	_, origin, err := configsource.Load(context.Background(), env(map[string]string{
		configsource.EnvInline: secretConfig, configsource.EnvParameter: "  ",
	}))
	if err != nil || origin != "env:TOKENREVIEW_CONFIG" {
		t.Fatalf("blank parameter must be ignored: %v %q", err, origin)
	}
}

func TestLoadEmptyConfiguration(t *testing.T) {
	srv := httptest.NewServer(&fakeSSM{params: map[string]string{"/empty": " \n"}})
	defer srv.Close()
	_, _, err := configsource.Loader{SSM: realClient(srv.URL)}.Load(context.Background(),
		env(map[string]string{configsource.EnvParameter: "/empty"}))
	want := "configsource: the configuration from ssm:/empty is empty"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestLoadParameterRealClient(t *testing.T) {
	fake := &fakeSSM{params: map[string]string{"/tokenreview/config": secretConfig}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	data, origin, err := configsource.Loader{SSM: realClient(srv.URL)}.Load(context.Background(),
		env(map[string]string{configsource.EnvParameter: "/tokenreview/config"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(data) != secretConfig || origin != "ssm:/tokenreview/config" {
		t.Fatalf("got %q from %q", data, origin)
	}
	calls := fake.calls()
	if len(calls) != 1 {
		t.Fatalf("want 1 GetParameter call, got %d", len(calls))
	}
	c := calls[0]
	if c.Target != "AmazonSSM.GetParameter" || c.ContentType != "application/x-amz-json-1.1" ||
		c.Name != "/tokenreview/config" || !c.WithDecryption {
		t.Fatalf("unexpected request %+v", c)
	}
	if !strings.HasPrefix(c.Authorization, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(c.Authorization, "/eu-west-1/ssm/aws4_request") {
		t.Fatalf("request not SigV4-signed for ssm: %q", c.Authorization)
	}
}

func TestLoadParameterNotFound(t *testing.T) {
	srv := httptest.NewServer(&fakeSSM{params: map[string]string{}})
	defer srv.Close()

	_, origin, err := configsource.Loader{SSM: realClient(srv.URL)}.Load(context.Background(),
		env(map[string]string{configsource.EnvParameter: "/tokenreview/missing"}))
	if err == nil {
		t.Fatal("want an error")
	}
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("want a wrapped *types.ParameterNotFound, got %T %v", err, err)
	}
	wantPrefix := `configsource: SSM parameter "/tokenreview/missing" not found (check TOKENREVIEW_CONFIG_PARAMETER and the region): operation error SSM: GetParameter`
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Fatalf("message:\n got %s\nwant prefix %s", err, wantPrefix)
	}
	if origin != "ssm:/tokenreview/missing" {
		t.Fatalf("origin %q", origin)
	}
}

func TestLoadParameterTimeout(t *testing.T) {
	fake := &fakeSSM{params: map[string]string{"/slow": secretConfig}, delay: 5 * time.Second}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	start := time.Now()
	_, _, err := configsource.Loader{SSM: realClient(srv.URL), Timeout: 200 * time.Millisecond}.Load(
		context.Background(), env(map[string]string{configsource.EnvParameter: "/slow"}))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("timeout not applied: took %v", elapsed)
	}
	want := `configsource: reading SSM parameter "/slow" timed out: `
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want prefix %s", err, want)
	}
}

// TestLoadParameterDefaultChain covers the zero Loader: the client comes from
// config.LoadDefaultConfig, configured only through the standard AWS
// environment variables, as in Lambda.
func TestLoadParameterDefaultChain(t *testing.T) {
	fake := &fakeSSM{params: map[string]string{"/tokenreview/config": secretConfig}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDDEFAULT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secretkey")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)

	_, origin, err := configsource.Load(context.Background(), os.Getenv)
	if err == nil || !errors.Is(err, configsource.ErrNoSource) {
		t.Fatalf("no TOKENREVIEW_* variable set: want ErrNoSource, got %v (%q)", err, origin)
	}
	t.Setenv(configsource.EnvParameter, "/tokenreview/config")
	data, origin, err := configsource.Load(context.Background(), os.Getenv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(data) != secretConfig || origin != "ssm:/tokenreview/config" {
		t.Fatalf("got %q from %q", data, origin)
	}
	calls := fake.calls()
	if len(calls) != 1 || !strings.Contains(calls[0].Authorization, "Credential=AKIDDEFAULT/") ||
		!strings.Contains(calls[0].Authorization, "/eu-central-1/ssm/aws4_request") || !calls[0].WithDecryption {
		t.Fatalf("unexpected requests %+v", calls)
	}
}

// TestLoadParameterVersionSelector: template.yaml pins a version as
// "name:version" (ConfigParameterVersion); SSM resolves the selector, so
// the name must reach GetParameter unchanged.
func TestLoadParameterVersionSelector(t *testing.T) {
	fake := &fakeSSM{params: map[string]string{"/tokenreview/config:3": secretConfig}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	data, origin, err := configsource.Loader{SSM: realClient(srv.URL)}.Load(context.Background(),
		env(map[string]string{configsource.EnvParameter: "/tokenreview/config:3"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(data) != secretConfig || origin != "ssm:/tokenreview/config:3" {
		t.Fatalf("got %q from %q", data, origin)
	}
	if calls := fake.calls(); len(calls) != 1 || calls[0].Name != "/tokenreview/config:3" {
		t.Fatalf("unexpected requests %+v", calls)
	}
}

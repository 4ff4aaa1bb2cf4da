package lambdaevent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	sample "github.com/tokenreview/webhook/events"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/endpointauth"
	"github.com/tokenreview/webhook/shared/tokenreview"
	"github.com/tokenreview/webhook/shared/verify"
)

const eventsDir = "../../events"

// documented is one row of events/README.md's table.
type documented = sample.Documented

// readTable parses the documented answers out of events/README.md, by file.
func readTable(t *testing.T) map[string]documented {
	t.Helper()
	list, err := sample.Table(eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]documented{}
	for _, d := range list {
		rows[d.File] = d
	}
	return rows
}

// eventsHandler builds the function's handler the way main does: the real
// verifier and endpoint policy from events/config.yaml.
func eventsHandler(t testing.TB, observe func(context.Context, tokenreview.Event)) *Handler {
	t.Helper()
	cfg, err := config.LoadFile(filepath.Join(eventsDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := verify.New(context.Background(), cfg, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := endpointauth.New(cfg.Webhook.Authentication.BearerTokens, cfg.Webhook.Authentication.ClientCertificateSubjects)
	if err != nil {
		t.Fatal(err)
	}
	return NewHandler(&tokenreview.Handler{Reviewer: a, Auth: pol, DenialReasons: cfg.Webhook.DenialReasons(), Observe: observe})
}

// frontResponse is the union of the fronts' response fields.
type frontResponse struct {
	StatusCode        *int                `json:"statusCode"`
	StatusDescription *string             `json:"statusDescription"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// answer is a TokenReview or a Status, as far as the table documents it.
type answer struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     json.RawMessage
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

type reviewStatus struct {
	Authenticated bool `json:"authenticated"`
	User          struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	Audiences []string `json:"audiences"`
	Error     string   `json:"error"`
}

func TestEveryEventGetsItsDocumentedAnswer(t *testing.T) {
	table := readTable(t)
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	seen := map[string]bool{}
	var mu sync.Mutex
	var observed []tokenreview.Event
	h := eventsHandler(t, func(_ context.Context, e tokenreview.Event) {
		mu.Lock()
		observed = append(observed, e)
		mu.Unlock()
	})
	viaLib := lambda.NewHandler(h)
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		doc, ok := table[name]
		if !ok {
			t.Errorf("%s has no row in events/README.md", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := Sniff(payload); got != doc.Front {
				t.Errorf("front %q, documented %q", got, doc.Front)
			}
			observed = nil
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-" + name})
			out, err := h.Invoke(ctx, payload)
			if err != nil {
				t.Fatalf("Invoke returned a Lambda error: %v", err)
			}
			outLib, err := viaLib.Invoke(ctx, payload)
			if err != nil || !bytes.Equal(out, outLib) {
				t.Errorf("lambda.NewHandler(h).Invoke differs: %v\n%s\n%s", err, outLib, out)
			}
			wantObserved := doc.HTTPStatus()
			if wantObserved == 0 { // direct: the status the answer stands for
				wantObserved = http.StatusOK
				if doc.Answer == "Status" {
					wantObserved = http.StatusBadRequest
				}
			}
			// Two invocations (ours and through aws-lambda-go), one event each.
			if len(observed) != 2 || observed[0].RequestID != "req-"+name || observed[0].Front != doc.Front ||
				observed[0].HTTPStatus != wantObserved {
				t.Errorf("observed %+v", observed)
			}
			body := out
			if doc.HTTPStatus() != 0 {
				body = checkFrontResponse(t, doc, out)
			}
			checkAnswer(t, doc, body)
		})
	}
	for name := range table {
		if !seen[name] {
			t.Errorf("events/README.md documents %s, which does not exist", name)
		}
	}
}

// checkFrontResponse checks the front's envelope and returns its body.
func checkFrontResponse(t *testing.T, doc documented, out []byte) []byte {
	t.Helper()
	var fr frontResponse
	if err := json.Unmarshal(out, &fr); err != nil {
		t.Fatalf("front response is not JSON: %v\n%s", err, out)
	}
	if fr.StatusCode == nil || *fr.StatusCode != doc.HTTPStatus() {
		t.Fatalf("statusCode %v, documented %d: %s", fr.StatusCode, doc.HTTPStatus(), out)
	}
	if fr.IsBase64Encoded {
		t.Errorf("body is base64-encoded")
	}
	contentType := fr.Headers["Content-Type"]
	if doc.File == "alb-multivalue.json" {
		if fr.Headers != nil || len(fr.MultiValueHeaders["Content-Type"]) != 1 {
			t.Errorf("multi-value ALB answered headers %v multiValueHeaders %v", fr.Headers, fr.MultiValueHeaders)
		}
		contentType = strings.Join(fr.MultiValueHeaders["Content-Type"], ",")
	}
	if contentType != "application/json" {
		t.Errorf("Content-Type %q", contentType)
	}
	wantDesc := fmt.Sprintf("%d %s", doc.HTTPStatus(), http.StatusText(doc.HTTPStatus()))
	switch {
	case doc.Front == FrontALB && (fr.StatusDescription == nil || *fr.StatusDescription != wantDesc):
		t.Errorf("ALB statusDescription %v, want %q", fr.StatusDescription, wantDesc)
	case doc.Front != FrontALB && fr.StatusDescription != nil:
		t.Errorf("statusDescription outside ALB")
	}
	if doc.HTTPStatus() == 401 && fr.Headers["Www-Authenticate"] != "Bearer" {
		t.Errorf("401 without WWW-Authenticate: %v", fr.Headers)
	}
	if doc.HTTPStatus() == 405 && fr.Headers["Allow"] != "POST" {
		t.Errorf("405 without Allow: %v", fr.Headers)
	}
	return []byte(fr.Body)
}

// checkAnswer checks a TokenReview or Status body against the table.
func checkAnswer(t *testing.T, doc documented, body []byte) {
	t.Helper()
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	if doc.Answer == "Status" {
		code := doc.HTTPStatus()
		if code == 0 {
			code = http.StatusBadRequest
		}
		if a.Kind != "Status" || a.APIVersion != "v1" || string(a.Status) != `"Failure"` || a.Code != code || a.Message != doc.Message {
			t.Errorf("Status %s, documented code %d message %q", body, code, doc.Message)
		}
		return
	}
	if got := a.Kind + " " + a.APIVersion; got != doc.Answer {
		t.Errorf("answered %q, documented %q", got, doc.Answer)
	}
	var st reviewStatus
	if err := json.Unmarshal(a.Status, &st); err != nil {
		t.Fatalf("status: %v", err)
	}
	if strconv.FormatBool(st.Authenticated) != doc.Authenticated || st.User.Username != doc.Username ||
		strings.Join(st.User.Groups, ",") != doc.Groups || strings.Join(st.Audiences, ",") != doc.Audiences ||
		st.Error != doc.Message {
		t.Errorf("status %+v, documented %+v", st, doc)
	}
	if bytes.Contains(body, []byte(`"token"`)) {
		t.Errorf("the answer echoes a token: %s", body)
	}
}

// Handler is both a Lambda handler (no reflection) and a net/http handler.
var (
	_ lambda.Handler = (*Handler)(nil)
	_ http.Handler   = (*Handler)(nil)
)

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sample "github.com/tokenreview/webhook/events"
)

// repoRoot is the module root, relative to this package.
const repoRoot = "../.."

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
	bootstrapOut  []byte
)

// TestMain removes the bootstrap binary built by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if bootstrapPath != "" {
		_ = os.RemoveAll(filepath.Dir(bootstrapPath))
	}
	os.Exit(code)
}

// buildBootstrap builds the function exactly as it is deployed: linux,
// amd64, static, -tags lambda.norpc, -trimpath, stripped. Built once per
// test binary.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the bootstrap binary; skipped with -short")
	}
	bootstrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tokenreview-bootstrap-")
		if err != nil {
			bootstrapErr = err
			return
		}
		bootstrapPath = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s", "-o", bootstrapPath, "./functions/tokenreview")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		bootstrapOut, bootstrapErr = cmd.CombinedOutput()
	})
	if bootstrapErr != nil {
		t.Fatalf("building bootstrap: %v\n%s", bootstrapErr, bootstrapOut)
	}
	return bootstrapPath
}

// lambdaProcess is the bootstrap binary running against a runtimeAPI.
type lambdaProcess struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	exited chan struct{}
}

// startBootstrap runs the binary from the module root with only the
// variables Lambda would set plus extraEnv.
func startBootstrap(t *testing.T, rt *runtimeAPI, extraEnv ...string) *lambdaProcess {
	t.Helper()
	bin := buildBootstrap(t)
	p := &lambdaProcess{cmd: exec.Command(bin), exited: make(chan struct{})}
	p.cmd.Dir = repoRoot
	p.cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(), "AWS_LAMBDA_FUNCTION_NAME=tokenreview", "TZ=UTC"}, extraEnv...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// eventRow is one row of events/README.md's table of documented answers.
type eventRow = sample.Documented

// readEventTable parses events/README.md's table.
func readEventTable(t *testing.T) []eventRow {
	t.Helper()
	rows, err := sample.Table(filepath.Join(repoRoot, "events"))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestBootstrapAnswersEveryEvent runs the deployed binary against a
// Runtime API double feeding every file of events/, and checks each
// answer against events/README.md's table, each log line's front and
// outcome, and the EMF metrics on stdout.
func TestBootstrapAnswersEveryEvent(t *testing.T) {
	rows := readEventTable(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	var tableNames []string
	for _, r := range rows {
		tableNames = append(tableNames, r.File)
	}
	slices.Sort(tableNames)
	if !slices.Equal(names, tableNames) {
		t.Fatalf("events/*.json = %v\ntable rows   = %v", names, tableNames)
	}

	var events [][]byte
	for _, r := range rows {
		b, err := os.ReadFile(filepath.Join(repoRoot, "events", r.File))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	rt := startRuntimeAPI(t, events)
	buildBootstrap(t) // before the clock starts
	started := time.Now()
	p := startBootstrap(t, rt, "TOKENREVIEW_CONFIG_FILE=events/config.yaml")
	select {
	case <-rt.allDone:
	case <-p.exited:
		t.Fatalf("bootstrap exited early (%v):\n%s", p.cmd.ProcessState, &p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("not every event was answered:\n%s", &p.stderr)
	}
	// The loop asks for the next event and waits: every event was
	// served, and one more next is pending.
	deadline := time.Now().Add(5 * time.Second)
	for rt.NextCalls() != len(events)+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := rt.NextCalls(); n != len(events)+1 {
		t.Errorf("next called %d times, want %d", n, len(events)+1)
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	t.Logf("process start to first next (INIT): %v", rt.FirstNext().Sub(started))

	if !strings.Contains(p.stderr.String(), `"level":"INFO","msg":"initialised","origin":"file:events/config.yaml","issuers":1,`) {
		t.Errorf("no INIT line naming the configuration's origin:\n%s", &p.stderr)
	}
	logs := logLinesByRequest(t, p.stderr.String())
	for i, row := range rows {
		t.Run(row.File, func(t *testing.T) {
			a, ok := rt.Answer(requestID(i))
			if !ok || a.kind != "response" {
				t.Fatalf("answer %+v (present %v), want a response", a, ok)
			}
			checkAnswer(t, row, a.body)
			checkLogLine(t, row, logs[requestID(i)])
		})
	}
	checkEMF(t, rows, p.stdout.String())
	if strings.Contains(p.stderr.String(), "eyJ") || strings.Contains(p.stdout.String(), "eyJ") {
		t.Error("a token reached the output")
	}
}

// checkAnswer compares one invocation result with its table row.
func checkAnswer(t *testing.T, row eventRow, result []byte) {
	t.Helper()
	var envelope map[string]any
	if err := json.Unmarshal(result, &envelope); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, result)
	}
	body, httpStatus := result, ""
	if code, ok := envelope["statusCode"].(float64); ok {
		httpStatus = strconv.Itoa(int(code))
		s, _ := envelope["body"].(string)
		body = []byte(s)
		if b64, _ := envelope["isBase64Encoded"].(bool); b64 {
			if body, _ = base64.StdEncoding.DecodeString(s); body == nil {
				t.Fatalf("body is not base64: %q", s)
			}
		}
	}
	if httpStatus != row.HTTP {
		t.Errorf("HTTP %q, want %q", httpStatus, row.HTTP)
	}
	var ans struct{ Kind, APIVersion string }
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	if ans.Kind == "Status" {
		checkStatusAnswer(t, row, body)
		return
	}
	if got := ans.Kind + " " + ans.APIVersion; got != row.Answer {
		t.Fatalf("answer is %q, want %q\n%s", got, row.Answer, body)
	}
	var tr struct {
		Spec   map[string]any
		Status struct {
			Authenticated bool
			User          struct {
				Username string
				Groups   []string
			}
			Audiences []string
			Error     string
		}
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	st := tr.Status
	if strconv.FormatBool(st.Authenticated) != row.Authenticated || st.User.Username != row.Username ||
		strings.Join(st.User.Groups, ", ") != row.Groups || strings.Join(st.Audiences, ", ") != row.Audiences || st.Error != row.Message {
		t.Errorf("status %+v\nwant authenticated %s, user %q, groups %q, audiences %q, error %q",
			st, row.Authenticated, row.Username, row.Groups, row.Audiences, row.Message)
	}
	if _, echoed := tr.Spec["token"]; echoed {
		t.Error("the answer echoes spec.token")
	}
}

// checkStatusAnswer checks a metav1.Status answer against its row: code
// (400 for a direct invocation), message.
func checkStatusAnswer(t *testing.T, row eventRow, body []byte) {
	t.Helper()
	var st struct {
		APIVersion, Status, Message string
		Code                        int
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	wantCode, _ := strconv.Atoi(row.HTTP)
	if row.HTTP == "" {
		wantCode = 400
	}
	if row.Answer != "Status" || st.APIVersion != "v1" || st.Status != "Failure" || st.Code != wantCode || st.Message != row.Message {
		t.Errorf("answer %s\nwant %s with code %d, message %q", body, row.Answer, wantCode, row.Message)
	}
}

// logLine is the part of a review log line the tests check.
type logLine struct {
	Msg        string  `json:"msg"`
	RequestID  string  `json:"request_id"`
	Front      string  `json:"front"`
	Outcome    string  `json:"outcome"`
	Reason     string  `json:"reason"`
	HTTPStatus int     `json:"http_status"`
	LatencyMS  float64 `json:"latency_ms"`
}

func logLinesByRequest(t *testing.T, stderr string) map[string]logLine {
	t.Helper()
	out := map[string]logLine{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Errorf("stderr line is not JSON: %q", l)
			continue
		}
		if ll.Msg == "review" {
			if _, dup := out[ll.RequestID]; dup {
				t.Errorf("two review lines for %s", ll.RequestID)
			}
			out[ll.RequestID] = ll
		}
	}
	return out
}

// checkLogLine checks the review line of one invocation: its front, its
// outcome (and reason for a denial) and its HTTP status.
func checkLogLine(t *testing.T, row eventRow, ll logLine) {
	t.Helper()
	if ll.Front != row.Front {
		t.Errorf("logged front %q, want %q (line %+v)", ll.Front, row.Front, ll)
	}
	wantOutcome, wantReason := expectedOutcome(row)
	if ll.Outcome != wantOutcome || ll.Reason != wantReason {
		t.Errorf("logged outcome %q reason %q, want %q %q", ll.Outcome, ll.Reason, wantOutcome, wantReason)
	}
	wantHTTP, _ := strconv.Atoi(row.HTTP)
	if row.HTTP == "" {
		wantHTTP = 200 // a direct TokenReview answer
		if row.Answer == "Status" {
			wantHTTP = 400
		}
	}
	if ll.HTTPStatus != wantHTTP {
		t.Errorf("logged http_status %d, want %d", ll.HTTPStatus, wantHTTP)
	}
}

// expectedOutcome derives the outcome and reason a row implies: a Status
// answer is a refused request; a TokenReview is authenticated, or denied
// with the reason code that starts status.error.
func expectedOutcome(row eventRow) (outcome, reason string) {
	switch {
	case row.Answer == "Status":
		return "refused", ""
	case row.Authenticated == "true":
		return "authenticated", ""
	}
	code, _, _ := strings.Cut(row.Message, ":")
	return "denied", code
}

// checkEMF adds up the EMF documents on stdout and compares them with what
// the table implies: Reviews per outcome and reason, Refused per status.
func checkEMF(t *testing.T, rows []eventRow, stdout string) {
	t.Helper()
	wantReviews, wantRefused := map[string]int{}, map[string]int{}
	for _, row := range rows {
		outcome, reason := expectedOutcome(row)
		if outcome == "refused" {
			code := row.HTTP
			if code == "" {
				code = "400"
			}
			wantRefused[code]++
			continue
		}
		if reason == "" {
			reason = "none"
		}
		wantReviews[outcome+"/"+reason]++
	}
	gotReviews, gotRefused := map[string]int{}, map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var d struct {
			AWS struct {
				CloudWatchMetrics []struct{ Namespace string }
			} `json:"_aws"`
			Outcome, Reason, StatusCode string
			Reviews, Refused            int
			Latency                     []float64
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil || len(d.AWS.CloudWatchMetrics) != 1 || d.AWS.CloudWatchMetrics[0].Namespace != "TokenReviewWebhook" {
			t.Errorf("stdout line is not an EMF document of TokenReviewWebhook: %q", l)
			continue
		}
		if d.Outcome != "" {
			gotReviews[d.Outcome+"/"+d.Reason] += d.Reviews
			if len(d.Latency) != d.Reviews {
				t.Errorf("%d reviews with %d latencies: %s", d.Reviews, len(d.Latency), l)
			}
		}
		if d.StatusCode != "" {
			gotRefused[d.StatusCode] += d.Refused
		}
	}
	if !maps.Equal(gotReviews, wantReviews) || !maps.Equal(gotRefused, wantRefused) {
		t.Errorf("EMF reviews %v refused %v\nwant reviews %v refused %v", gotReviews, gotRefused, wantReviews, wantRefused)
	}
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runtimeAPI is a Lambda Runtime API double on 127.0.0.1: it hands out
// events on GET .../invocation/next, records what is posted to
// .../invocation/{id}/response and .../error (answering 202, as Lambda
// does), and blocks next once the events run out, as Lambda does between
// invocations. (AWS's emulator cannot be fetched from the module proxy.)
type runtimeAPI struct {
	srv *httptest.Server

	mu        sync.Mutex
	events    [][]byte
	served    int
	nextCalls int
	firstNext time.Time
	answers   map[string]answer // by request ID
	allDone   chan struct{}
	stop      chan struct{}
}

// answer is what the function posted for one invocation.
type answer struct {
	kind string // "response" or "error"
	body []byte
}

const runtimePrefix = "/2018-06-01/runtime/invocation/"

func startRuntimeAPI(t *testing.T, events [][]byte) *runtimeAPI {
	t.Helper()
	r := &runtimeAPI{events: events, answers: map[string]answer{}, allDone: make(chan struct{}), stop: make(chan struct{})}
	if len(events) == 0 {
		close(r.allDone)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		close(r.stop) // unblocks a waiting next before Close waits for it
		r.srv.Close()
	})
	return r
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (r *runtimeAPI) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// requestID is the ID of the i-th event.
func requestID(i int) string { return fmt.Sprintf("req-%02d", i) }

func (r *runtimeAPI) serve(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, runtimePrefix)
	if !ok {
		http.NotFound(w, req)
		return
	}
	if rest == "next" && req.Method == http.MethodGet {
		r.next(w, req)
		return
	}
	id, kind, ok := strings.Cut(rest, "/")
	if !ok || req.Method != http.MethodPost || (kind != "response" && kind != "error") {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.answers[id] = answer{kind: kind, body: body}
	if len(r.answers) == len(r.events) {
		close(r.allDone)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (r *runtimeAPI) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.nextCalls++
	if r.nextCalls == 1 {
		r.firstNext = time.Now()
	}
	if r.served == len(r.events) {
		r.mu.Unlock()
		select { // no more events: wait, as Lambda freezes an idle function
		case <-req.Context().Done():
		case <-r.stop:
		}
		return
	}
	i := r.served
	r.served++
	ev := r.events[i]
	r.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", requestID(i))
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:tokenreview")
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(ev)
}

// NextCalls is how many times the function asked for an event.
func (r *runtimeAPI) NextCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextCalls
}

// FirstNext is when the function first asked for an event (zero if never).
func (r *runtimeAPI) FirstNext() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstNext
}

// Answer returns what was posted for request ID id.
func (r *runtimeAPI) Answer(id string) (answer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.answers[id]
	return a, ok
}

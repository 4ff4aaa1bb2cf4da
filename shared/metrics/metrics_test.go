package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tokenreview/webhook/shared/decision"
)

func TestPrometheusParsesAndCountsExactly(t *testing.T) {
	r := NewRegistry()
	r.ObserveReview(decision.Authenticated, "", 200*time.Microsecond)
	r.ObserveReview(decision.Authenticated, "", 3*time.Millisecond)
	r.ObserveReview(decision.Denied, decision.Expired, 90*time.Microsecond)
	r.ObserveReview(decision.Unavailable, decision.KeysUnavailable, 7*time.Second)
	r.ObserveKeyFetch("https://issuer.example/a\"b", nil)
	r.ObserveKeyFetch("https://issuer.example/a\"b", errors.New("connection refused"))
	r.ObserveKeyFetch("https://other.example", nil)
	r.ObserveRefused(401)
	r.ObserveRefused(401)
	r.ObserveRefused(400)

	var buf bytes.Buffer
	if err := r.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, buf.String())
	}

	got := map[string]float64{}
	for _, m := range fams[promReviews].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		got[labels["outcome"]+"/"+labels["reason"]] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"authenticated/none": 2, "denied/expired": 1, "unavailable/keys_unavailable": 1}
	if len(got) != len(want) {
		t.Fatalf("reviews series = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reviews{%s} = %v, want %v", k, got[k], v)
		}
	}

	refused := map[string]float64{}
	for _, m := range fams[promRefused].GetMetric() {
		refused[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if len(refused) != 2 || refused["401"] != 2 || refused["400"] != 1 {
		t.Errorf("refused = %v, want 401:2 400:1", refused)
	}

	h := fams[promLatency].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 4 {
		t.Errorf("latency count = %d, want 4", h.GetSampleCount())
	}
	if s := h.GetSampleSum(); s < 7.0032 || s > 7.0033 {
		t.Errorf("latency sum = %v, want 7.00329", s)
	}
	cum := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		cum[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	for le, n := range map[float64]uint64{0.0001: 1, 0.00025: 2, 0.0025: 2, 0.005: 3, 5: 3} {
		if cum[le] != n {
			t.Errorf("bucket le=%v = %d, want %d", le, cum[le], n)
		}
	}

	fetch := func(name, iss string) float64 {
		for _, m := range fams[name].GetMetric() {
			if m.GetLabel()[0].GetValue() == iss {
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("%s has no series for %q", name, iss)
		return 0
	}
	if v := fetch(promFetches, "https://issuer.example/a\"b"); v != 2 {
		t.Errorf("fetches = %v, want 2", v)
	}
	if v := fetch(promFetchFailures, "https://issuer.example/a\"b"); v != 1 {
		t.Errorf("failures = %v, want 1", v)
	}
	if v := fetch(promFetchFailures, "https://other.example"); v != 0 {
		t.Errorf("failures other = %v, want 0", v)
	}
}

func TestEMFDeltas(t *testing.T) {
	r := NewRegistry()
	now := time.UnixMilli(1_700_000_000_123)
	r.ObserveReview(decision.Denied, decision.BadSignature, 1500*time.Microsecond)
	r.ObserveReview(decision.Denied, decision.BadSignature, 500*time.Microsecond)
	r.ObserveKeyFetch("https://i.example", errors.New("503"))
	r.ObserveRefused(401)

	var buf bytes.Buffer
	if err := r.WriteEMF(&buf, now); err != nil {
		t.Fatal(err)
	}
	want := `{"Latency":[1.5,0.5],"Outcome":"denied","Reason":"bad_signature","Reviews":2,"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"TokenReviewWebhook","Dimensions":[["Outcome"],["Outcome","Reason"]],"Metrics":[{"Name":"Reviews","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]}}
{"Refused":1,"StatusCode":"401","_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"TokenReviewWebhook","Dimensions":[["StatusCode"]],"Metrics":[{"Name":"Refused","Unit":"Count"}]}]}}
{"Issuer":"https://i.example","KeyFetchFailures":1,"KeyFetches":1,"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"TokenReviewWebhook","Dimensions":[["Issuer"]],"Metrics":[{"Name":"KeyFetches","Unit":"Count"},{"Name":"KeyFetchFailures","Unit":"Count"}]}]}}
`
	if buf.String() != want {
		t.Errorf("EMF =\n%s\nwant\n%s", buf.String(), want)
	}

	// Deltas are forgotten once written; totals are not.
	buf.Reset()
	if err := r.WriteEMF(&buf, now); err != nil || buf.Len() != 0 {
		t.Errorf("second WriteEMF wrote %q, %v; want nothing", buf.String(), err)
	}
	if n := r.Reviews(decision.Denied, decision.BadSignature); n != 2 {
		t.Errorf("total = %d, want 2", n)
	}
}

func TestEMFSplitsLatencyArrays(t *testing.T) {
	r := NewRegistry()
	for range 250 {
		r.ObserveReview(decision.Authenticated, "", time.Millisecond)
	}
	var buf bytes.Buffer
	if err := r.WriteEMF(&buf, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var counts []int
	for _, l := range lines {
		var d struct {
			Reviews int
			Latency []float64
			Reason  string
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if d.Reviews != len(d.Latency) || d.Reason != NoReason {
			t.Errorf("document %s: Reviews %d, %d latencies, reason %q", l[:60], d.Reviews, len(d.Latency), d.Reason)
		}
		counts = append(counts, d.Reviews)
	}
	if len(counts) != 3 || counts[0] != 100 || counts[1] != 100 || counts[2] != 50 {
		t.Errorf("documents carry %v reviews, want [100 100 50]", counts)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 1000 {
				r.ObserveReview(decision.Authenticated, "", time.Microsecond)
				r.ObserveKeyFetch("https://i.example", nil)
				if i == 0 {
					_ = r.WritePrometheus(&bytes.Buffer{})
					_ = r.WriteEMF(&bytes.Buffer{}, time.Now())
				}
			}
		})
	}
	wg.Wait()
	if n := r.Reviews(decision.Authenticated, ""); n != 8000 {
		t.Errorf("reviews = %d, want 8000", n)
	}
	if f, _ := r.KeyFetches("https://i.example"); f != 8000 {
		t.Errorf("fetches = %d, want 8000", f)
	}
}

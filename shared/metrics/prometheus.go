package metrics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Prometheus metric names.
const (
	promReviews       = "tokenreview_reviews_total"
	promLatency       = "tokenreview_review_duration_seconds"
	promFetches       = "tokenreview_key_fetches_total"
	promFetchFailures = "tokenreview_key_fetch_failures_total"
	promRefused       = "tokenreview_refused_requests_total"
)

// PrometheusContentType is the Content-Type of WritePrometheus's output.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// WritePrometheus writes every counter in the Prometheus text exposition
// format (version 0.0.4): reviews by outcome and reason, refused requests
// by HTTP status, the latency histogram, and key fetches and failures by
// issuer.
func (r *Registry) WritePrometheus(w io.Writer) error {
	r.mu.Lock()
	var b strings.Builder
	header(&b, promReviews, "counter", "Token reviews by outcome and reason.")
	for _, k := range sortedReviewKeys(r.reviews) {
		fmt.Fprintf(&b, "%s{outcome=%s,reason=%s} %d\n", promReviews, quote(k.outcome), quote(k.reason), r.reviews[k])
	}
	header(&b, promRefused, "counter", "Requests answered without a review, by HTTP status code.")
	for _, code := range sortedCodes(r.refused) {
		fmt.Fprintf(&b, "%s{code=\"%d\"} %d\n", promRefused, code, r.refused[code])
	}
	header(&b, promLatency, "histogram", "Time to review one token, in seconds.")
	var cum uint64
	for i, le := range latencyBuckets {
		cum += r.buckets[i]
		fmt.Fprintf(&b, "%s_bucket{le=\"%s\"} %d\n", promLatency, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(&b, "%s_bucket{le=\"+Inf\"} %d\n", promLatency, r.count)
	fmt.Fprintf(&b, "%s_sum %s\n", promLatency, strconv.FormatFloat(r.sum, 'g', -1, 64))
	fmt.Fprintf(&b, "%s_count %d\n", promLatency, r.count)
	issuers := sortedIssuers(r.fetches)
	header(&b, promFetches, "counter", "Key set fetches (discovery, then JWKS) by issuer.")
	for _, iss := range issuers {
		fmt.Fprintf(&b, "%s{issuer=%s} %d\n", promFetches, quote(iss), r.fetches[iss].fetches)
	}
	header(&b, promFetchFailures, "counter", "Failed key set fetches by issuer.")
	for _, iss := range issuers {
		fmt.Fprintf(&b, "%s{issuer=%s} %d\n", promFetchFailures, quote(iss), r.fetches[iss].failures)
	}
	r.mu.Unlock()

	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(b.String()); err != nil {
		return fmt.Errorf("write prometheus metrics: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write prometheus metrics: %w", err)
	}
	return nil
}

func header(b *strings.Builder, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// quote renders a label value: backslash, double quote and newline are
// escaped as the exposition format requires.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

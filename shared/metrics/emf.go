package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Namespace is the CloudWatch namespace of the EMF metrics.
const Namespace = "TokenReviewWebhook"

// emfMaxValues is the most values one EMF metric may carry in an array.
const emfMaxValues = 100

// emfMetric declares one metric of an EMF document.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfDirective is one entry of _aws.CloudWatchMetrics.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// emfMeta is the _aws member.
type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// WriteEMF writes what was recorded since the previous call as CloudWatch
// Embedded Metric Format documents, one JSON object per line, and forgets
// it (EMF values are deltas that CloudWatch adds up):
//
//   - per outcome and reason seen: Reviews (Count) and Latency
//     (Milliseconds, one value per review), with the dimension sets
//     [Outcome] and [Outcome, Reason];
//   - per HTTP status of refused requests: Refused (Count), with the
//     dimension set [StatusCode];
//   - per issuer fetched: KeyFetches and KeyFetchFailures (Count), with the
//     dimension set [Issuer].
//
// Nothing is written when nothing was recorded. now stamps the documents.
func (r *Registry) WriteEMF(w io.Writer, now time.Time) error {
	r.mu.Lock()
	if !r.pendingSomething {
		r.mu.Unlock()
		return nil
	}
	reviews, fetches, refused := r.pendingReviews, r.pendingFetches, r.pendingRefused
	r.pendingReviews, r.pendingFetches, r.pendingRefused = map[reviewKey][]float64{}, map[string]fetchCount{}, map[int]uint64{}
	r.pendingSomething = false
	r.mu.Unlock()

	ts := now.UnixMilli()
	docs := reviewDocs(ts, reviews)
	docs = append(docs, refusedDocs(ts, refused)...)
	docs = append(docs, fetchDocs(ts, fetches)...)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("write EMF metrics: %w", err)
		}
	}
	return nil
}

// directive is the _aws member of a document declaring metrics with
// units under one dimension set list.
func directive(ts int64, dims [][]string, metrics ...emfMetric) emfMeta {
	return emfMeta{Timestamp: ts, CloudWatchMetrics: []emfDirective{{Namespace: Namespace, Dimensions: dims, Metrics: metrics}}}
}

// reviewDocs renders Reviews and Latency per outcome and reason, at most
// emfMaxValues latencies per document.
func reviewDocs(ts int64, reviews map[reviewKey][]float64) []map[string]any {
	var docs []map[string]any
	for _, k := range sortedReviewKeys(reviews) {
		lat := reviews[k]
		for len(lat) > 0 {
			n := min(len(lat), emfMaxValues)
			docs = append(docs, map[string]any{
				"_aws": directive(ts, [][]string{{"Outcome"}, {"Outcome", "Reason"}},
					emfMetric{Name: "Reviews", Unit: "Count"}, emfMetric{Name: "Latency", Unit: "Milliseconds"}),
				"Outcome": k.outcome,
				"Reason":  k.reason,
				"Reviews": n,
				"Latency": lat[:n],
			})
			lat = lat[n:]
		}
	}
	return docs
}

// refusedDocs renders Refused per HTTP status code.
func refusedDocs(ts int64, refused map[int]uint64) []map[string]any {
	var docs []map[string]any
	for _, code := range sortedCodes(refused) {
		docs = append(docs, map[string]any{
			"_aws":       directive(ts, [][]string{{"StatusCode"}}, emfMetric{Name: "Refused", Unit: "Count"}),
			"StatusCode": strconv.Itoa(code),
			"Refused":    refused[code],
		})
	}
	return docs
}

// fetchDocs renders KeyFetches and KeyFetchFailures per issuer.
func fetchDocs(ts int64, fetches map[string]fetchCount) []map[string]any {
	var docs []map[string]any
	for _, iss := range sortedIssuers(fetches) {
		docs = append(docs, map[string]any{
			"_aws": directive(ts, [][]string{{"Issuer"}},
				emfMetric{Name: "KeyFetches", Unit: "Count"}, emfMetric{Name: "KeyFetchFailures", Unit: "Count"}),
			"Issuer":           iss,
			"KeyFetches":       fetches[iss].fetches,
			"KeyFetchFailures": fetches[iss].failures,
		})
	}
	return docs
}

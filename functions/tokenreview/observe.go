package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/metrics"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

// newLogger returns the JSON logger every mode uses.
func newLogger(e env, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// observer returns the tokenreview.Handler's Observe hook: one log line per
// call and the metrics. tokenreview.Event never holds the token, and
// neither does anything logged here: Result.Message and Event.Problem are
// built by the verifier and the wire contract to be safe to log.
func observer(log *slog.Logger, reg *metrics.Registry) func(context.Context, tokenreview.Event) {
	return func(ctx context.Context, ev tokenreview.Event) {
		attrs := []slog.Attr{
			slog.String("request_id", ev.RequestID),
			slog.String("api_version", ev.APIVersion),
			slog.String("front", ev.Front),
		}
		level := slog.LevelInfo
		if ev.Reviewed {
			r := ev.Result
			reg.ObserveReview(r.Outcome, r.Reason, ev.Latency)
			attrs = append(attrs,
				slog.String("issuer", r.Issuer),
				slog.String("kid", r.KeyID),
				slog.String("alg", r.Algorithm),
				slog.String("outcome", r.Outcome.String()),
				slog.String("reason", string(r.Reason)))
			if r.Message != "" {
				attrs = append(attrs, slog.String("message", r.Message))
			}
			if r.Outcome == decision.Unavailable {
				level = slog.LevelWarn
			}
		} else {
			reg.ObserveRefused(ev.HTTPStatus)
			attrs = append(attrs, slog.String("outcome", "refused"))
			level = slog.LevelWarn
		}
		attrs = append(attrs,
			slog.Float64("latency_ms", float64(ev.Latency)/float64(time.Millisecond)),
			slog.Int("http_status", ev.HTTPStatus))
		if ev.Problem != "" {
			attrs = append(attrs, slog.String("problem", ev.Problem))
		}
		if len(ev.Stack) > 0 {
			level = slog.LevelError
			attrs = append(attrs, slog.String("stack", string(ev.Stack)))
		}
		log.LogAttrs(ctx, level, "review", attrs...)
	}
}

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/configsource"
	"github.com/tokenreview/webhook/shared/lambdaevent"
	"github.com/tokenreview/webhook/shared/metrics"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// runLambda is the function's INIT phase followed by the invoke loop. A
// configuration that cannot be loaded ends the process with exitFail
// before the Runtime API is contacted: Lambda reports an INIT failure and
// no invocation is ever answered with a half-configured webhook.
func runLambda(ctx context.Context, e env) int {
	log := newLogger(e, slog.LevelInfo)
	start := time.Now()
	data, origin, err := configsource.Load(ctx, e.getenv)
	if err != nil {
		log.ErrorContext(ctx, "cannot load the configuration; failing INIT", "error", err.Error())
		return exitFail
	}
	cfg, err := config.Load(data)
	if err != nil {
		log.ErrorContext(ctx, "invalid configuration; failing INIT", "origin", origin, "problems", problems(err))
		return exitFail
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		log.ErrorContext(ctx, "cannot build the webhook; failing INIT", "origin", origin, "problems", problems(err))
		return exitFail
	}
	a.logReadiness(ctx, log)
	log.InfoContext(ctx, "initialised", "origin", origin, "issuers", len(cfg.JWT),
		"init_ms", float64(time.Since(start))/float64(time.Millisecond))

	h := &emfHandler{next: lambdaevent.NewHandler(a.handler), reg: a.metrics, out: e.stdout}
	h.flush() // the key fetches of INIT
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
	return exitOK // not reached: the invoke loop ends the process
}

// emfHandler writes the metrics recorded by each invocation as CloudWatch
// EMF lines on stdout once the invocation is answered.
type emfHandler struct {
	next lambda.Handler
	reg  *metrics.Registry
	mu   sync.Mutex // one writer at a time when invocations run concurrently
	out  io.Writer
}

// Invoke answers one invocation, then flushes its metrics.
func (h *emfHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := h.next.Invoke(ctx, payload)
	h.flush()
	return out, err
}

func (h *emfHandler) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	_ = h.reg.WriteEMF(h.out, time.Now()) // stdout: nothing useful to do on failure
}

// problems splits an error into its lines: a *config.ValidationError or an
// aggregate of field errors becomes one entry per problem, with its path.
func problems(err error) []string {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		out := make([]string, 0, len(ve.Errors))
		for _, fe := range ve.Errors {
			out = append(out, fe.Error())
		}
		return out
	}
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		var out []string
		for _, e := range agg.Errors() {
			out = append(out, problems(e)...)
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

// Command tokenreview is the TokenReview webhook authenticator.
//
// Run by AWS Lambda (AWS_LAMBDA_RUNTIME_API set, no arguments) it is the
// function's bootstrap: it loads the configuration once (from
// TOKENREVIEW_CONFIG_FILE, TOKENREVIEW_CONFIG or
// TOKENREVIEW_CONFIG_PARAMETER), prefetches every issuer's keys, and serves
// invocations from every front through shared/lambdaevent. Otherwise it is
// a command-line tool:
//
//	tokenreview serve    [--config FILE] [--listen ADDR] [--tls-cert F --tls-key F] [--client-ca F]
//	tokenreview validate --config FILE
//	tokenreview review   --config FILE [--audience A]... TOKEN|-
//
// `serve` without --config runs the self-contained demo (shared/demo).
// This package only parses arguments and wires the shared packages; see
// docs/cli.md for the commands and their output.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a run may touch of its process, so tests can run commands
// in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// listening, if set, is told the base URL once `serve` accepts
	// connections (tests).
	listening func(url string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// Exit codes of the commands.
const (
	exitOK    = 0
	exitFail  = 1 // denied token, invalid configuration, failed server
	exitError = 2 // usage error, unavailable decision, unreadable input
)

const usage = `usage:
  tokenreview serve    [--config FILE] [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--client-ca FILE]
  tokenreview validate --config FILE
  tokenreview review   --config FILE [--audience A]... TOKEN|-

serve without --config starts a self-contained demo. Run by AWS Lambda
(AWS_LAMBDA_RUNTIME_API set) with no arguments, it is the function.
`

// run executes one invocation of the program and returns its exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		if e.getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			return runLambda(ctx, e)
		}
		fmt.Fprint(e.stderr, usage)
		return exitError
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], e)
	case "validate":
		return runValidate(args[1:], e)
	case "review":
		return runReview(ctx, args[1:], e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "unknown command %q\n%s", args[0], usage)
	return exitError
}

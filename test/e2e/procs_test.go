package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logDir is where every process of this run writes its log. It is kept
// after the run (test/.e2e-logs/<timestamp>/, or $E2E_LOG_DIR when
// scripts/e2e.sh chose it) so a failure can be read afterwards.
var logDir string

// setupLogDir creates the run's log directory once.
func setupLogDir() (string, error) {
	dir := os.Getenv("E2E_LOG_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		dir = filepath.Join(wd, "..", ".e2e-logs", time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create log directory: %w", err)
	}
	return filepath.Abs(dir)
}

// proc is one child process (etcd, kube-apiserver or the webhook) whose
// stdout and stderr go to <logDir>/<name>.log.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // exit error, valid after done

	stopOnce sync.Once
}

// start runs bin with args and registers its stop with t.Cleanup. Cleanups
// run last-in first-out, so a kube-apiserver started after its etcd is
// stopped before it (an apiserver whose etcd is gone hangs on shutdown).
func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("open log for %s: %v", name, err)
	}
	fmt.Fprintf(f, "=== %s %s\n=== %s\n", bin, strings.Join(args, " "), time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("tail of %s:\n%s", p.logPath, p.tail(20))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to 20 s, then kills the process group. It is
// idempotent; only the first call acts.
func (p *proc) stop() error {
	var err error
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			err = errors.New("did not exit within 20s of SIGTERM; killed")
		}
	})
	return err
}

// tail returns the last n lines of the process log.
func (p *proc) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitFor polls ready every 200 ms until it returns nil, the process exits
// or timeout passes; the last two fail the test with the log tail.
func (p *proc) waitFor(t *testing.T, timeout time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	began := time.Now()
	var last error
	for {
		if last = ready(); last == nil {
			t.Logf("%s ready after %s", p.name, time.Since(began).Round(time.Millisecond))
			return
		}
		if p.exited() {
			t.Fatalf("%s exited before becoming ready (%v); last probe: %v\nlog %s, tail:\n%s", p.name, p.err, last, p.logPath, p.tail(60))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s; last probe: %v\nlog %s, tail:\n%s", p.name, timeout, last, p.logPath, p.tail(60))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

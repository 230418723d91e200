package loadtest

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

// ErrServer is wrapped by every failure to build, start or stop the
// server under test.
var ErrServer = errors.New("loadtest: server")

// Build compiles examples/httpserver into dir and returns the binary's
// path. It runs the go command, so it needs the module's source tree
// (tests and the loadtest command run inside it).
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "httpserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/negawatt/negawatt/examples/httpserver")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: go build examples/httpserver: %v\n%s", ErrServer, err, out)
	}
	return bin, nil
}

// Server is a running httpserver process on a loopback port, with the
// token key it was started with, so the driver mints its own tokens.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:40123.
	URL string
	// PostgresURL, when set, is the database the server uses (from
	// FreshSchema); Measure then also reports its backends' CPU time.
	PostgresURL string

	signer *platform.Signer
	cmd    *exec.Cmd  // nil when served in process
	stop   func()     // in process: begins the graceful shutdown
	done   chan error // the process's exit, once
	copied sync.WaitGroup
}

// Options start a server.
type Options struct {
	// Binary is the httpserver executable (see Build).
	Binary string
	// Args are extra flags, e.g. -data-dir DIR or -postgres URL. The
	// driver adds -addr 127.0.0.1:0 and a per-token rate limit far above
	// what a load test sends (-rate-limit 1000000).
	Args []string
	// Env is added to the process environment (NEGAWATT_TOKEN_KEY is set
	// by Start).
	Env []string
	// Log receives the server's JSON log lines after start-up; nil
	// discards them.
	Log io.Writer
	// Dir is the process's working directory (where a default data
	// directory would be created); "" is the caller's.
	Dir string
	// StartTimeout bounds start-up (listening and /readyz 200); 0 is 30 s.
	StartTimeout time.Duration
}

// Start runs the binary on 127.0.0.1 with a port the kernel picks and a
// fresh token key, waits until /readyz answers 200 and returns the server.
// Rate limiting stays on (its cost is part of every request) with a limit
// no load test reaches: a load test sends one token's requests as fast as
// the server answers them.
func Start(ctx context.Context, o Options) (*Server, error) {
	key := platform.NewRandomKey()
	signer, err := platform.NewSigner(key)
	if err != nil {
		return nil, err
	}
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-rate-limit", "1000000", "-rate-burst", "1000000"}, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	// The store comes from the flags only: a NEGAWATT_POSTGRES_URL in the
	// driver's environment must not switch a SQLite run to PostgreSQL.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEGAWATT_POSTGRES_URL=") && !strings.HasPrefix(kv, "NEGAWATT_TOKEN_KEY=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, o.Env...), "NEGAWATT_TOKEN_KEY="+hex.EncodeToString(key))
	cmd.Stdout = io.Discard
	cmd.Dir = o.Dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrServer, o.Binary, err)
	}
	s := &Server{signer: signer, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	var head strings.Builder // start-up output, for the error message
	s.copied.Add(1)
	go func() {
		defer s.copied.Done()
		br := bufio.NewReaderSize(stderr, 64<<10)
		for {
			line, err := br.ReadSlice('\n')
			if head.Len() < 8<<10 {
				head.Write(line)
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return // exited before listening: Start reports head
			}
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				addr <- rec.Addr
				break
			}
		}
		// The rest (one access-log line per request, in the server's
		// batched writes) is copied in bulk: this process is the load
		// generator, and a write per line would take its cores' time.
		dst := o.Log
		if dst == nil {
			dst = io.Discard
		}
		if _, err := br.WriteTo(dst); err != nil {
			_, _ = io.Copy(io.Discard, stderr)
		}
	}()
	go func() {
		s.copied.Wait() // Wait closes the pipe: read it to the end first
		s.done <- cmd.Wait()
	}()

	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.done:
		s.done <- err
		return nil, fmt.Errorf("%w: exited before listening (%v):\n%s", ErrServer, err, head.String())
	case <-startCtx.Done():
		_ = s.Stop()
		return nil, fmt.Errorf("%w: not listening after %v", ErrServer, timeout)
	}
	if err := s.waitReady(startCtx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: /readyz not 200 in time (last: %v)", ErrServer, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// OperatorToken returns a bearer token with the operator scope.
func (s *Server) OperatorToken() string {
	tok, err := s.signer.Mint(platform.OperatorScope(), 24*time.Hour)
	if err != nil {
		panic(err) // the scope is constant and the signer valid
	}
	return tok
}

// CustomerToken returns a bearer token scoped to customer id.
func (s *Server) CustomerToken(id string) (string, error) {
	sc, err := platform.CustomerScope(id)
	if err != nil {
		return "", err
	}
	return s.signer.Mint(sc, 24*time.Hour)
}

// Stop sends SIGTERM (the server finishes in-flight requests) and waits
// up to 30 s before killing the process. It returns the exit error, if
// any; stopping twice returns the first result.
func (s *Server) Stop() error {
	if s.cmd == nil {
		s.stop()
		err := <-s.done
		s.done <- err
		return err
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // fails harmlessly once exited
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		return fmt.Errorf("%w: did not stop within 30 s of SIGTERM; killed", ErrServer)
	}
}

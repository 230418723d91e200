package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// countingServer starts a test server that counts the TCP connections it
// accepts.
func countingServer(h http.Handler) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	return srv, &n
}

func TestRunBodyFraming(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // larger than the read buffer
	tests := []struct {
		name    string
		handler http.HandlerFunc
		method  string
	}{
		{"content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = io.WriteString(w, big)
		}, http.MethodGet},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			for range 5 { // each flush makes a chunk
				_, _ = io.WriteString(w, big[:10000])
				w.(http.Flusher).Flush()
			}
		}, http.MethodGet},
		{"chunked with trailer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Sum", "4")
		}, http.MethodGet},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, http.MethodGet},
		{"no content", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, http.MethodGet},
		{"early hints", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "after hints")
		}, http.MethodGet},
		{"head", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1234")
		}, http.MethodHead},
		{"post", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"n":1}` {
				w.WriteHeader(http.StatusBadRequest)
			}
			_, _ = w.Write(b)
		}, http.MethodPost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, conns := countingServer(tt.handler)
			defer srv.Close()
			res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 40, Duration: time.Minute, Concurrency: 2,
				NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
					var body io.Reader
					if tt.method == http.MethodPost {
						body = strings.NewReader(`{"n":1}`)
					}
					return http.NewRequestWithContext(ctx, tt.method, srv.URL+"/p", body)
				}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 40 || res.Errors != 0 {
				t.Errorf("requests %d errors %d statuses %v, want 40 without errors", res.Requests, res.Errors, res.Statuses)
			}
			// Every response was framed right, so the connections were kept.
			if n := conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2 (one per worker, kept alive)", n)
			}
		})
	}
}

func TestRunReconnectsAfterConnectionClose(t *testing.T) {
	var served atomic.Int64
	srv, conns := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%3 == 0 {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 30, Duration: time.Minute, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 30 || res.Errors != 0 {
		t.Errorf("requests %d errors %d statuses %v", res.Requests, res.Errors, res.Statuses)
	}
	if n := conns.Load(); n != 10 {
		t.Errorf("%d connections, want 10 (a new one after each close)", n)
	}
}

func TestRunRetriesIdleConnectionClosedByServer(t *testing.T) {
	// The server closes every kept-alive connection right after its first
	// response, without saying so: the next GET on it finds it closed and
	// is sent again on a fresh one, as net/http does. A POST is not.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go rawServer(ln, func(c net.Conn, br *bufio.Reader) {
			_ = readRequest(br)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond) // lets the response arrive before the FIN
		})
		res, err := Run(context.Background(), Config{URL: "http://" + ln.Addr().String() + "/", Requests: 5, Duration: time.Minute, Concurrency: 1,
			NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
				return http.NewRequestWithContext(ctx, method, "http://"+ln.Addr().String()+"/", nil)
			}})
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]int{200: 5}
		if method == http.MethodPost {
			want = map[int]int{200: 3, 0: 2} // every second request finds the connection closed
		}
		if diff := cmp.Diff(want, res.Statuses); diff != "" {
			t.Errorf("%s: statuses (-want +got):\n%s", method, diff)
		}
	}
}

func TestRunServerDiesMidRun(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 20 {
			go srv.Close() // listener and every connection go away
		}
		_, _ = io.WriteString(w, "ok")
	})
	srv.Start()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 200, Duration: time.Minute, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Every request is accounted for: answered ones as 200, the rest as
	// transport errors (status 0), none hanging until the deadline.
	if res.Requests != 200 || res.Statuses[200]+res.Statuses[0] != 200 || res.Statuses[0] == 0 || res.Errors != res.Statuses[0] {
		t.Errorf("requests %d errors %d statuses %v", res.Requests, res.Errors, res.Statuses)
	}
	if res.Elapsed > 30*time.Second {
		t.Errorf("run took %v: failed requests were not reported promptly", res.Elapsed)
	}
}

func TestRunMalformedResponsesAreErrors(t *testing.T) {
	for name, resp := range map[string]string{
		"not http":         "SSH-2.0-OpenSSH_9.6\r\n",
		"bad length":       "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"bad chunk":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"short body":       "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"switch protocols": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go rawServer(ln, func(c net.Conn, br *bufio.Reader) {
			_ = readRequest(br)
			_, _ = io.WriteString(c, resp)
		})
		res, err := Run(context.Background(), Config{URL: "http://" + ln.Addr().String() + "/", Requests: 3, Duration: time.Minute, Concurrency: 1})
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[int]int{0: 3}, res.Statuses); diff != "" || res.Errors != 3 {
			t.Errorf("%s: errors %d, statuses (-want +got):\n%s", name, res.Errors, diff)
		}
	}
}

func TestRunHTTP10AndUnframedBodies(t *testing.T) {
	// An HTTP/1.0 answer closes the connection unless it says keep-alive;
	// a body with no length runs to the connection's end.
	for name, resp := range map[string]string{
		"http/1.0":            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"http/1.0 keep-alive": "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"until close":         "HTTP/1.1 200 OK\r\n\r\nthe body runs until the server closes",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns atomic.Int64
		keep := strings.Contains(resp, "keep-alive")
		go rawServer(ln, func(c net.Conn, br *bufio.Reader) {
			conns.Add(1)
			for readRequest(br) == nil {
				_, _ = io.WriteString(c, resp)
				if !keep {
					return
				}
			}
		})
		res, err := Run(context.Background(), Config{URL: "http://" + ln.Addr().String() + "/", Requests: 4, Duration: time.Minute, Concurrency: 1})
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantConns := int64(4)
		if keep {
			wantConns = 1
		}
		if res.Errors != 0 || res.Statuses[200] != 4 || conns.Load() != wantConns {
			t.Errorf("%s: statuses %v, %d connections (want %d)", name, res.Statuses, conns.Load(), wantConns)
		}
	}
}

func TestRunRefusesRequestsForOtherHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 3, Duration: time.Minute,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, "http://example.com/", nil)
		}})
	if err != nil || res.Errors != 3 || res.Statuses[0] != 3 {
		t.Errorf("res %v err %v: a request for another host must fail, not be sent", res, err)
	}
	c := newConn("http", "127.0.0.1:1", "127.0.0.1:1")
	req, _ := http.NewRequest(http.MethodGet, "http://10.0.0.1:1/", nil)
	if _, err := c.do(context.Background(), req); !errors.Is(err, ErrOtherHost) {
		t.Errorf("err = %v, want ErrOtherHost", err)
	}
}

func TestRunWithClientUsesNetHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var used atomic.Int64
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 10, Duration: time.Minute, Client: client})
	if err != nil || res.Errors != 0 || used.Load() != 10 {
		t.Errorf("res %v err %v, client used %d times", res, err, used.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// rawServer serves each connection of ln with serve, then closes it.
func rawServer(ln net.Listener, serve func(net.Conn, *bufio.Reader)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c, bufio.NewReader(c))
		}()
	}
}

// readRequest reads one body-less request's head.
func readRequest(br *bufio.Reader) error {
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, req.Body)
	return nil
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		head   bool
		status int
		keep   bool
		rest   string // what must be left unread
		err    error
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT", false, 200, true, "NEXT", nil},
		{"no reason", "HTTP/1.1 404\r\ncontent-length: 0\r\n\r\nNEXT", false, 404, true, "NEXT", nil},
		{"bare LF", "HTTP/1.1 500 Oops\nContent-Length: 1\n\nxNEXT", false, 500, true, "NEXT", nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT", false, 200, true, "NEXT", nil},
		{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\nNEXT", false, 200, true, "NEXT", nil},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, 200, false, "", nil},
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, 200, false, "", nil},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nxNEXT", false, 200, true, "NEXT", nil},
		{"until EOF", "HTTP/1.1 200 OK\r\n\r\nall of it", false, 200, false, "", nil},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nNEXT", true, 200, true, "NEXT", nil},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nNEXT", false, 304, true, "NEXT", nil},
		{"long header", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 40<<10) + "\r\nContent-Length: 1\r\n\r\nxNEXT", false, 200, true, "NEXT", nil},
		{"garbage", "hello\r\n", false, 0, false, "", ErrMalformedResponse},
		{"bad version", "HTTP/1.2 200 OK\r\n\r\n", false, 0, false, "", ErrMalformedResponse},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", false, 0, false, "", ErrMalformedResponse},
		{"status 099", "HTTP/1.1 099 OK\r\n\r\n", false, 0, false, "", ErrMalformedResponse},
		{"no colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, 0, false, "", ErrMalformedResponse},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", false, 0, false, "", ErrMalformedResponse},
		{"length +1", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", false, 0, false, "", ErrMalformedResponse},
		{"chunk -1", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", false, 0, false, "", ErrMalformedResponse},
		{"chunk overrun", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n", false, 0, false, "", ErrMalformedResponse},
		{"huge chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", false, 0, false, "", ErrMalformedResponse},
		{"cut head", "HTTP/1.1 200 OK\r\nContent-Le", false, 0, false, "", io.ErrUnexpectedEOF},
		{"cut body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", false, 0, false, "", io.ErrUnexpectedEOF},
		{"cut chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 0, false, "", io.ErrUnexpectedEOF},
		{"nothing", "", false, 0, false, "", io.EOF},
	}
	for _, tt := range tests {
		br := bufio.NewReaderSize(strings.NewReader(tt.in), 16<<10)
		status, keep, err := readResponse(br, tt.head)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		rest, _ := io.ReadAll(br)
		if err != nil || status != tt.status || keep != tt.keep || string(rest) != tt.rest {
			t.Errorf("%s: got (%d, keep %v, rest %q, %v), want (%d, keep %v, rest %q)", tt.name, status, keep, rest, err, tt.status, tt.keep, tt.rest)
		}
	}
}

// TestReadResponseFramesAnyResponse writes random responses back to back,
// framed by Content-Length or by chunks of random sizes (with random
// extensions and trailers), through net/http's own chunked writer, and
// checks that each is read whole: its status, and the next one starting
// exactly where it ends.
func TestReadResponseFramesAnyResponse(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type resp struct {
			status int
			body   []byte
		}
		var rs []resp
		var wire bytes.Buffer
		for range rapid.IntRange(1, 5).Draw(t, "n") {
			r := resp{status: rapid.IntRange(200, 599).Filter(func(s int) bool { return s != 204 && s != 304 }).Draw(t, "status"),
				body: rapid.SliceOfN(rapid.Byte(), 0, 40000).Draw(t, "body")}
			rs = append(rs, r)
			fmt.Fprintf(&wire, "HTTP/1.1 %d %s\r\n", r.status, http.StatusText(r.status))
			for i := range rapid.IntRange(0, 3).Draw(t, "headers") {
				fmt.Fprintf(&wire, "X-H%d: %s\r\n", i, rapid.StringMatching(`[a-zA-Z0-9 ;,=]{0,30}`).Draw(t, "value"))
			}
			if rapid.Bool().Draw(t, "chunked") {
				wire.WriteString("Transfer-Encoding: chunked\r\n\r\n")
				for b := r.body; len(b) > 0; {
					n := rapid.IntRange(1, len(b)).Draw(t, "chunk")
					ext := rapid.SampledFrom([]string{"", ";a=b", "; x"}).Draw(t, "ext")
					fmt.Fprintf(&wire, "%x%s\r\n%s\r\n", n, ext, b[:n])
					b = b[n:]
				}
				wire.WriteString("0\r\n")
				if rapid.Bool().Draw(t, "trailer") {
					wire.WriteString("X-Trailer: 1\r\n")
				}
				wire.WriteString("\r\n")
			} else {
				fmt.Fprintf(&wire, "Content-Length: %d\r\n\r\n%s", len(r.body), r.body)
			}
		}
		wire.WriteString("END")
		br := bufio.NewReaderSize(&wire, rapid.IntRange(16, 64<<10).Draw(t, "buffer"))
		for i, r := range rs {
			status, keep, err := readResponse(br, false)
			if err != nil || status != r.status || !keep {
				t.Fatalf("response %d: got (%d, keep %v, %v), want %d", i, status, keep, err, r.status)
			}
		}
		if rest, _ := io.ReadAll(br); string(rest) != "END" {
			t.Fatalf("left %q after the responses, want END", rest)
		}
	})
}

// FuzzReadResponse feeds arbitrary bytes to the parser: it must never
// panic or hang, and a response it accepts must have a valid status and
// agree with net/http's parser on it.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\nbody",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 64)
		status, _, err := readResponse(br, head)
		if err != nil {
			return
		}
		if status < 100 || status > 999 {
			t.Fatalf("accepted status %d", status)
		}
		req := &http.Request{Method: http.MethodGet}
		if head {
			req.Method = http.MethodHead
		}
		resp, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), req)
		if herr == nil && resp.StatusCode != status {
			t.Fatalf("status %d, net/http read %d", status, resp.StatusCode)
		}
	})
}

// BenchmarkRun sends b.N GETs with a bearer token through each client to
// an in-process server (whose cost is included, the same in both):
// compare ns/op and allocs/op between them.
func BenchmarkRun(b *testing.B) {
	body := []byte(`{"customer":"c1","available":"12.5"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	for _, bc := range []struct {
		name   string
		client *http.Client
	}{{"lean", nil}, {"net-http", &http.Client{Transport: tr}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			res, err := Run(context.Background(), Config{URL: srv.URL, Requests: b.N, Duration: MaxDuration, Concurrency: 4, Client: bc.client,
				NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
					r, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/customers/c1/balance", nil)
					if err == nil {
						r.Header.Set("Authorization", "Bearer t0123456789")
					}
					return r, err
				}})
			if err != nil || res.Errors != 0 {
				b.Fatal(res, err)
			}
		})
	}
}

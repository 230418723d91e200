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
	"strconv"
	"sync"
	"time"
)

// Errors of the built-in HTTP/1.1 client. A response it cannot parse is
// counted as a transport error (status 0) and its connection is closed.
var (
	ErrMalformedResponse = errors.New("loadgen: malformed HTTP response")
	ErrOtherHost         = errors.New("loadgen: request is not for the configured URL's host")
)

// maxChunkSize bounds a chunk-size line's value, so a hostile size cannot
// overflow; bodies larger than this are still read, chunk by chunk.
const maxChunkSize = 1 << 40

// conn is one worker's keep-alive HTTP/1.1 connection, the way wrk keeps
// them: the request is serialized once into a reused buffer and written in
// one call, and the response is parsed just far enough to know its status
// and where its body ends (Content-Length, chunked, or close), and the body
// is discarded. It costs the load generator, which shares the cores with
// the server under test, about half the CPU per request of net/http's
// Client.
type conn struct {
	scheme, host, addr string // what requests must target, and where to dial
	dialer             net.Dialer

	mu     sync.Mutex // guards c and stop against the deadline watcher
	c      net.Conn
	stop   bool
	br     *bufio.Reader
	wbuf   bytes.Buffer  // the serialized request
	last   *http.Request // the body-less request wbuf holds, if any
	reused bool          // c has carried a full exchange before
}

func newConn(scheme, host, addr string) *conn {
	return &conn{scheme: scheme, host: host, addr: addr, dialer: net.Dialer{Timeout: 10 * time.Second}}
}

// interrupt makes any blocked read or write fail now and every later
// dial fail: Run calls it when its context ends.
func (c *conn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stop = true
	if c.c != nil {
		_ = c.c.SetDeadline(time.Unix(1, 0))
	}
}

func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

func (c *conn) dial(ctx context.Context) error {
	nc, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop {
		_ = nc.Close()
		return context.Canceled
	}
	c.c, c.reused = nc, false
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// do sends req and reads its whole response, returning the status. On any
// error the connection is closed (the next do dials again). A request that
// fails on a reused connection before any byte of its response arrived is
// sent once more on a fresh connection when its method is idempotent and
// it has no body, as net/http's Transport does: the server may close an
// idle keep-alive connection just as the request goes out.
func (c *conn) do(ctx context.Context, req *http.Request) (int, error) {
	if req.URL.Scheme != c.scheme || req.URL.Host != c.host {
		return 0, fmt.Errorf("%w: %s://%s", ErrOtherHost, req.URL.Scheme, req.URL.Host)
	}
	if req != c.last || req.Body != nil {
		// A body-less request sent again (Run's default GET) keeps its
		// bytes; anything else is serialized anew.
		c.last = nil
		c.wbuf.Reset()
		if err := req.Write(&c.wbuf); err != nil {
			return 0, err
		}
		if req.Body == nil {
			c.last = req
		}
	}
	replayable := req.Body == nil || req.Body == http.NoBody
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		replayable = false
	}
	head := req.Method == http.MethodHead
	for attempt := 0; ; attempt++ {
		if c.c == nil {
			if err := c.dial(ctx); err != nil {
				return 0, err
			}
		}
		reused := c.reused
		status, keep, got, err := c.exchange(head)
		if err == nil {
			c.reused = true
			if !keep {
				c.close()
			}
			return status, nil
		}
		c.close()
		if !(reused && !got && replayable && attempt == 0 && ctx.Err() == nil) {
			return 0, err
		}
	}
}

// exchange writes the serialized request and reads one final response.
// got reports whether any byte of a response arrived; keep whether the
// connection may carry the next request.
func (c *conn) exchange(head bool) (status int, keep, got bool, err error) {
	if _, err = c.c.Write(c.wbuf.Bytes()); err != nil {
		return 0, false, false, err
	}
	if _, err = c.br.Peek(1); err != nil {
		return 0, false, false, err
	}
	for {
		status, keep, err = readResponse(c.br, head)
		if err != nil {
			return 0, false, true, unexpected(err)
		}
		// 1xx (100 Continue, 103 Early Hints) precede the final response;
		// 101 would switch protocols, which a load test never asks for.
		if status >= 200 || status == http.StatusSwitchingProtocols {
			if status == http.StatusSwitchingProtocols {
				return 0, false, true, fmt.Errorf("%w: unexpected 101 Switching Protocols", ErrMalformedResponse)
			}
			return status, keep, true, nil
		}
	}
}

// readResponse reads one HTTP/1.x response (RFC 9112) from br and discards
// its body: status line, header fields (only Content-Length,
// Transfer-Encoding and Connection matter), then the body framed by
// chunked coding, Content-Length, or the end of the connection (§6.3).
// keep reports whether the connection stays open afterwards.
func readResponse(br *bufio.Reader, head bool) (status int, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, false, err
	}
	// HTTP/1.1 200 OK — the reason phrase may be empty or absent.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, false, fmt.Errorf("%w: status line %q", ErrMalformedResponse, trim(line))
	}
	http10 := line[7] == '0'
	if !http10 && line[7] != '1' {
		return 0, false, fmt.Errorf("%w: status line %q", ErrMalformedResponse, trim(line))
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false, fmt.Errorf("%w: status line %q", ErrMalformedResponse, trim(line))
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return 0, false, fmt.Errorf("%w: status %d", ErrMalformedResponse, status)
	}
	keep = !http10
	length, chunked := int64(-1), false
	for {
		line, err = readLine(br)
		if err != nil {
			return 0, false, unexpected(err)
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 {
			return 0, false, fmt.Errorf("%w: header line %q", ErrMalformedResponse, trim(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, perr := strconv.ParseInt(string(value), 10, 64)
			if perr != nil || !digits(value) || (length >= 0 && n != length) {
				return 0, false, fmt.Errorf("%w: Content-Length %q", ErrMalformedResponse, trim(value))
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			// chunked must be the final coding (RFC 9112 §6.3); anything
			// else leaves the length to the connection's end.
			if i := bytes.LastIndexByte(value, ','); i >= 0 {
				value = bytes.TrimSpace(value[i+1:])
			}
			chunked = asciiEqualFold(value, "chunked")
			if !chunked {
				keep = false
			}
		case asciiEqualFold(name, "Connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if asciiEqualFold(tok, "close") {
					keep = false
				} else if http10 && asciiEqualFold(tok, "keep-alive") {
					keep = true
				}
			}
		}
	}
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified || head {
		return status, keep, nil
	}
	switch {
	case chunked:
		err = discardChunked(br)
	case length >= 0:
		err = discard(br, length)
	default:
		// No framing: the body runs to the end of the connection.
		keep = false
		_, err = io.Copy(io.Discard, br)
	}
	if err != nil {
		return 0, false, unexpected(err)
	}
	return status, keep, nil
}

// discard skips n bytes (int may be 32 bits wide).
func discard(br *bufio.Reader, n int64) error {
	const step = 1 << 30
	for n > 0 {
		k, err := br.Discard(int(min(n, step)))
		if err != nil {
			return err
		}
		n -= int64(k)
	}
	return nil
}

// discardChunked reads a chunked body and its trailer section (RFC 9112
// §7.1).
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		line = bytes.TrimSpace(line)
		size, err := strconv.ParseUint(string(line), 16, 64)
		if err != nil || size > maxChunkSize {
			return fmt.Errorf("%w: chunk size %q", ErrMalformedResponse, trim(line))
		}
		if size == 0 {
			for { // trailer fields up to the empty line
				line, err := readLine(br)
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := discard(br, int64(size)); err != nil {
			return err
		}
		crlf, err := readLine(br)
		if err != nil {
			return err
		}
		if len(crlf) != 0 {
			return fmt.Errorf("%w: chunk data overruns its size", ErrMalformedResponse)
		}
	}
}

// maxLine bounds one status or header line (net/http's default limit on
// a response head is of the same order).
const maxLine = 1 << 20

// readLine returns the next line without its CRLF (or bare LF). The slice
// is only valid until the next read. A line longer than br's buffer (rare:
// a 16 KiB buffer holds any header this service sends) is assembled in a
// new slice, up to maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > maxLine {
				return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformedResponse, maxLine)
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// unexpected turns an EOF inside a response into io.ErrUnexpectedEOF, so
// only an EOF before the status line reads as a closed idle connection.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// digits reports whether b is a non-empty run of ASCII digits (RFC 9110
// §8.6: Content-Length = 1*DIGIT; strconv would also take a sign).
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// trim keeps error messages short when a server sends garbage.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

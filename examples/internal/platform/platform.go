package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures a Platform. Only Signer is required.
type Config struct {
	// Signer verifies bearer tokens.
	Signer *Signer
	// Logger receives access logs and errors; nil means JSON to stderr.
	Logger *slog.Logger
	// Ready is the readiness check behind /readyz (e.g. ping the ledger
	// store); nil means always ready.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds one readiness check; zero means 2 s.
	ReadyTimeout time.Duration
	// OpenAPI, when non-nil, is served verbatim at GET /openapi.json.
	OpenAPI []byte
	// MaxBodyBytes caps request bodies; zero means 1 MiB.
	MaxBodyBytes int64
	// RateLimit per token; the zero value means DefaultRateLimit.
	RateLimit RateLimit
	// Now is the clock for rate limiting; nil means time.Now.
	Now func() time.Time
	// Registry for metrics; nil means a fresh registry (not the global
	// one, so several Platforms can live in one test binary).
	Registry *prometheus.Registry
}

// Access says who may call a route.
type Access struct {
	kind  accessKind
	param string
}

type accessKind int

const (
	accessPublic accessKind = iota + 1
	accessProbe
	accessOperator
	accessCustomer
	accessOptional
)

// Public routes need no token; they are rate limited per client IP.
var Public = Access{kind: accessPublic}

// Operator routes need an operator token.
var Operator = Access{kind: accessOperator}

// Optional routes serve anonymous callers and token holders alike (e.g. a
// landing page that redirects a signed-in customer to their own page). A
// token that is present must be valid (401 otherwise); the handler reads
// it with [ClaimsFrom].
var Optional = Access{kind: accessOptional}

// Customer routes take a customer id in the path wildcard named param
// (e.g. "id" for "GET /v1/customers/{id}/balance") and need a token for
// that customer or the operator. The id is checked with [ValidID] first
// (400 invalid_id), then against the token (403 forbidden).
func Customer(param string) Access { return Access{kind: accessCustomer, param: param} }

// Platform is the service's root http.Handler: routing, auth, middleware
// and the platform endpoints. Register domain routes with Handle before
// serving.
type Platform struct {
	cfg     Config
	mux     *http.ServeMux
	log     *slog.Logger
	metrics *Metrics
	limiter *limiter
	tokens  tokenCache
	now     func() time.Time
}

// New builds a Platform with /healthz, /readyz, /metrics (operator token:
// metrics reveal traffic patterns) and, if configured, /openapi.json.
func New(cfg Config) (*Platform, error) {
	if cfg.Signer == nil {
		return nil, errors.New("platform: Config.Signer is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("platform: MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.RateLimit == (RateLimit{}) {
		cfg.RateLimit = DefaultRateLimit
	}
	if !cfg.RateLimit.Disabled && (cfg.RateLimit.PerSecond <= 0 || cfg.RateLimit.Burst < 1 || math.IsInf(cfg.RateLimit.PerSecond, 0)) {
		return nil, fmt.Errorf("platform: RateLimit %+v: want PerSecond > 0 and Burst ≥ 1", cfg.RateLimit)
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	p := &Platform{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registry),
		limiter: newLimiter(cfg.RateLimit, cfg.Now),
		now:     cfg.Now,
	}
	p.handle("GET /healthz", Access{kind: accessProbe}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	p.handle("GET /readyz", Access{kind: accessProbe}, http.HandlerFunc(p.serveReady))
	p.handle("GET /metrics", Operator, promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	if cfg.OpenAPI != nil {
		doc := cfg.OpenAPI
		p.handle("GET /openapi.json", Public, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write(doc)
		}))
	}
	return p, nil
}

// Metrics returns the collectors domain handlers update.
func (p *Platform) Metrics() *Metrics { return p.metrics }

// Handle registers h for a ServeMux pattern (e.g. "POST /v1/customers")
// under an access rule. It panics on a bad pattern, a conflicting
// registration or a Customer param missing from the pattern, like
// http.ServeMux, since those are programming errors.
func (p *Platform) Handle(pattern string, access Access, h http.Handler) {
	if access.kind == accessProbe || access.kind == 0 {
		panic("platform: Handle " + pattern + ": use Public, Operator or Customer(param)")
	}
	p.handle(pattern, access, h)
}

// HandleFunc is Handle for a function.
func (p *Platform) HandleFunc(pattern string, access Access, h func(http.ResponseWriter, *http.Request)) {
	p.Handle(pattern, access, http.HandlerFunc(h))
}

func (p *Platform) handle(pattern string, access Access, h http.Handler) {
	if access.kind == accessCustomer && !strings.Contains(pattern, "{"+access.param+"}") {
		panic(fmt.Sprintf("platform: pattern %q has no {%s} wildcard for Customer(%q)", pattern, access.param, access.param))
	}
	route := pattern
	p.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		if info != nil {
			info.route = route
		}
		key := "ip:" + clientIP(r)
		// An anonymous caller of an Optional route is limited per IP, like
		// a Public one.
		needAuth := access.kind == accessOperator || access.kind == accessCustomer ||
			(access.kind == accessOptional && hasToken(r))
		if needAuth {
			claims, err := p.authenticate(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="negawatt"`)
				WriteError(w, r, err)
				return
			}
			if access.kind == accessCustomer {
				id := r.PathValue(access.param)
				if !ValidID(id) {
					WriteError(w, r, Errorf(http.StatusBadRequest, CodeInvalidID,
						"%s must be 1-64 letters, digits, '.', '_' or '-'", access.param))
					return
				}
				if !claims.Scope.CanAccessCustomer(id) {
					WriteError(w, r, Errorf(http.StatusForbidden, CodeForbidden, "token may not act for this customer"))
					return
				}
			} else if access.kind == accessOperator && claims.Scope.Role() != RoleOperator {
				WriteError(w, r, Errorf(http.StatusForbidden, CodeForbidden, "operator token required"))
				return
			}
			if info != nil {
				info.claims = claims
			}
			key = "tok:" + claims.ID
		}
		if access.kind != accessProbe {
			if ok, wait := p.limiter.allow(key); !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
				WriteError(w, r, Errorf(http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded, retry in %d s", max(1, secs)))
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
}

// authenticate reads the bearer token from the Authorization header or,
// for GET and HEAD only (the browser dashboard), the negawatt_token cookie.
func (p *Platform) authenticate(r *http.Request) (Claims, error) {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Claims{}, Errorf(http.StatusUnauthorized, CodeUnauthorized, "Authorization must be \"Bearer <token>\"")
		}
		tok = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(TokenCookie); err == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The cookie is for page loads only. Browsers attach cookies to
		// cross-site requests, so accepting it on a state-changing method
		// would open the API to cross-site request forgery; writes need
		// the Authorization header, which a foreign page cannot set.
		tok = c.Value
	}
	if tok == "" {
		return Claims{}, Errorf(http.StatusUnauthorized, CodeUnauthorized, "a bearer token is required")
	}
	claims, err := p.tokens.verify(p.cfg.Signer, tok)
	if err != nil {
		// Which check failed is logged, not told.
		return Claims{}, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "token is invalid or expired", Err: err}
	}
	return claims, nil
}

// hasToken reports whether the request carries credentials authenticate
// would look at.
func hasToken(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	_, err := r.Cookie(TokenCookie)
	return err == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

// TokenCookie is the cookie the dashboard reads a token from when there is
// no Authorization header (browsers cannot add one to a page load). It is
// honoured on GET and HEAD only, so it can never authorize a write.
const TokenCookie = "negawatt_token"

func (p *Platform) serveReady(w http.ResponseWriter, r *http.Request) {
	if p.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), p.cfg.ReadyTimeout)
		defer cancel()
		if err := p.cfg.Ready(ctx); err != nil {
			p.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("request_id", RequestID(r.Context())), slog.Any("err", err))
			WriteError(w, r, Errorf(http.StatusServiceUnavailable, CodeNotReady, "not ready"))
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ServeHTTP runs the middleware chain: request id → access log and
// metrics → panic recovery → body limit → routing (with JSON 404/405).
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.now()
	info := &reqInfo{id: incomingRequestID(r), route: "unmatched", base: p.log}
	w.Header().Set("X-Request-Id", info.id)
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))

	p.metrics.inFlight.Inc()
	defer func() {
		p.metrics.inFlight.Dec()
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := p.now().Sub(start)
		method := r.Method
		if info.route == "unmatched" && !knownMethod(method) {
			method = "OTHER" // keep label cardinality bounded
		}
		p.metrics.observe(info.route, method, status, elapsed.Seconds())
		// The access line carries request_id first, as Logger's lines do
		// (slog.Logger.With would render it per request even when
		// nothing else logs).
		var buf [9]slog.Attr
		attrs := append(buf[:0], slog.String("request_id", info.id),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", info.route),
			slog.Int("status", status), slog.Int64("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("remote_ip", clientIP(r)))
		if s := info.claims.Scope.String(); s != "" {
			attrs = append(attrs, slog.String("scope", s))
		}
		p.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	}()
	p.serveRecover(sw, r)
}

func (p *Platform) serveRecover(w *statusWriter, r *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v) // the server's own signal to abort the response
		}
		Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "panic in handler",
			slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
		if w.status == 0 {
			WriteError(w, r, Errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
		} else {
			w.status = http.StatusInternalServerError // for the access log; headers are gone
		}
	}()
	if r.ContentLength > p.cfg.MaxBodyBytes {
		WriteError(w, r, Errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request body exceeds %d bytes", p.cfg.MaxBodyBytes))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, p.cfg.MaxBodyBytes)
	if h, pattern := p.mux.Handler(r); pattern == "" {
		// No route: ServeMux would answer in plain text. Run its handler
		// against a recorder to learn 404 vs 405 (and Allow), then answer
		// with the JSON envelope.
		rec := &headerRecorder{h: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.h.Get("Allow"))
			WriteError(w, r, Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s not allowed here", r.Method))
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			p.mux.ServeHTTP(w, r)
		default:
			WriteError(w, r, Errorf(http.StatusNotFound, CodeNotFound, "no such resource"))
		}
		return
	}
	p.mux.ServeHTTP(w, r)
}

// reqInfo is per-request state shared by the middleware and the route
// wrapper (which learns the route and the caller after routing).
type reqInfo struct {
	id     string
	route  string
	claims Claims
	base   *slog.Logger
	log    atomic.Pointer[slog.Logger] // base with request_id, made on first use
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// RequestID is the request's id ("" outside a Platform request).
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

// ClaimsFrom returns the verified token claims of an authenticated route.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	if i := infoFrom(ctx); i != nil && i.claims.Scope.Role() != 0 {
		return i.claims, true
	}
	return Claims{}, false
}

// Logger is the platform logger with the request id attached (the default
// slog logger outside a Platform request).
func Logger(ctx context.Context) *slog.Logger {
	i := infoFrom(ctx)
	if i == nil || i.base == nil {
		return slog.Default()
	}
	if l := i.log.Load(); l != nil {
		return l
	}
	l := i.base.With(slog.String("request_id", i.id))
	if !i.log.CompareAndSwap(nil, l) {
		l = i.log.Load()
	}
	return l
}

// incomingRequestID keeps a caller's X-Request-Id when it is short and
// plain (so ids correlate across services and cannot inject into logs),
// otherwise makes a new random one.
func incomingRequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && ValidID(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// statusWriter records the status and size for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming handlers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header { return r.h }
func (r *headerRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

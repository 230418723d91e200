// Package loadtest drives the real examples/httpserver binary with
// package loadgen: it builds and starts the server on a loopback port
// (SQLite in a directory, or PostgreSQL), seeds customers through the
// public API, then measures requests/s and p50/p99 latency of balance
// reads and settlements. Issue 6 (Acceptance 3) asks for ≥ 5,000 balance
// reads/s and ≥ 1,000 settlements/s with PostgreSQL on a 2-core machine,
// with zero errors.
//
// Everything is bounded: the server listens on 127.0.0.1 only, each
// scenario stops at a request count or a duration, and the server is
// stopped with SIGTERM at the end. The full run is the command
// examples/internal/loadgen/cmd/loadtest (or `NEGAWATT_LOADTEST=1 go test
// ./examples/internal/loadgen/loadtest`); plain `go test` runs a short
// version so the path keeps working.
package loadtest

package main

import (
	"errors"
	"fmt"
	"path/filepath"
)

// storage is where a Lambda role keeps customers, usage, settlements and
// the points ledger: exactly one of the fields is set.
type storage struct {
	// PostgresURL (NEGAWATT_POSTGRES_URL) is the deployment store: every
	// execution environment of every function shares it.
	PostgresURL string
	// DataDir (NEGAWATT_DATA_DIR) holds SQLite files, for running the
	// bootstrap binary locally (e.g. sam local invoke) only.
	DataDir string
}

// errEphemeralStore refuses SQLite on a real Lambda: /tmp belongs to one
// execution environment, which Lambda discards at will and never shares
// with concurrent instances, so points posted there would be lost or
// split across copies of the ledger.
var errEphemeralStore = errors.New("NEGAWATT_DATA_DIR (SQLite) is for local runs only: " +
	"on Lambda /tmp is per execution environment and discarded at will; set NEGAWATT_POSTGRES_URL")

// storageFromEnv reads the store settings. On Lambda (the runtime sets
// AWS_LAMBDA_FUNCTION_NAME) only PostgreSQL is accepted.
func storageFromEnv(getenv func(string) string) (storage, error) {
	pg, dir := getenv("NEGAWATT_POSTGRES_URL"), getenv("NEGAWATT_DATA_DIR")
	switch {
	case pg != "" && dir != "":
		return storage{}, errors.New("set one of NEGAWATT_POSTGRES_URL and NEGAWATT_DATA_DIR, not both")
	case pg != "":
		return storage{PostgresURL: pg}, nil
	case dir == "":
		return storage{}, errors.New("NEGAWATT_POSTGRES_URL is required (the PostgreSQL URL of the ledger and application store)")
	case getenv("AWS_LAMBDA_FUNCTION_NAME") != "":
		return storage{}, errEphemeralStore
	case !filepath.IsAbs(dir):
		return storage{}, fmt.Errorf("NEGAWATT_DATA_DIR %q: want an absolute path", dir)
	}
	return storage{DataDir: dir}, nil
}

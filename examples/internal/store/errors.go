package store

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the key exists with different content (e.g. a rule-set
	// version uploaded twice with different sources).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: a value the store refuses (empty id, non-finite number,
	// unknown status).
	ErrInvalid = errors.New("store: invalid value")
	// ErrSchemaTooNew: the database was migrated by a newer build.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this build")
)

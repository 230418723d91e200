package sqlite

import "errors"

// ErrSchemaTooNew is returned by [Open] for a database file whose schema was
// written by a newer version of this package.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this package")

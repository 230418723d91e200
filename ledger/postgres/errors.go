package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotMigrated is returned by Open when the database's schema is older
// than this build expects; call Migrate first (an explicit step, so schema
// changes happen when the operator decides, not on every service start).
var ErrNotMigrated = errors.New("postgres: ledger schema not migrated")

// ErrSchemaTooNew is returned by Open and Migrate when the database was
// migrated by a newer build of this package than the running one.
var ErrSchemaTooNew = errors.New("postgres: ledger schema newer than this build")

// SQLSTATE codes this package acts on (PostgreSQL manual, Appendix A).
const (
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
	sqlstateUniqueViolation      = "23505"
	sqlstateUndefinedTable       = "42P01"
)

func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func isUndefinedTable(err error) bool { return sqlstate(err) == sqlstateUndefinedTable }

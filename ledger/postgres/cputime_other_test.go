//go:build !linux

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func clientCPU() time.Duration { return 0 }

func serverCPU(context.Context, *pgxpool.Pool, string) map[int32]time.Duration { return nil }

package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStorageFromEnv(t *testing.T) {
	const pg = "postgres://u:p@db.internal:5432/negawatt?sslmode=verify-full"
	tests := []struct {
		name    string
		env     map[string]string
		want    storage
		wantErr bool
	}{
		{"postgres", map[string]string{"NEGAWATT_POSTGRES_URL": pg}, storage{PostgresURL: pg}, false},
		{"postgres on lambda", map[string]string{"NEGAWATT_POSTGRES_URL": pg, "AWS_LAMBDA_FUNCTION_NAME": "f"}, storage{PostgresURL: pg}, false},
		{"sqlite locally", map[string]string{"NEGAWATT_DATA_DIR": "/tmp/nw"}, storage{DataDir: "/tmp/nw"}, false},
		{"sqlite on lambda", map[string]string{"NEGAWATT_DATA_DIR": "/tmp/nw", "AWS_LAMBDA_FUNCTION_NAME": "f"}, storage{}, true},
		{"relative dir", map[string]string{"NEGAWATT_DATA_DIR": "data"}, storage{}, true},
		{"both", map[string]string{"NEGAWATT_DATA_DIR": "/tmp/nw", "NEGAWATT_POSTGRES_URL": pg}, storage{}, true},
		{"neither", map[string]string{}, storage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := storageFromEnv(env(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("storage (-want +got):\n%s", diff)
			}
		})
	}
	_, err := storageFromEnv(env(map[string]string{"NEGAWATT_DATA_DIR": "/tmp/nw", "AWS_LAMBDA_FUNCTION_NAME": "f"}))
	if !errors.Is(err, errEphemeralStore) {
		t.Errorf("SQLite on Lambda: err = %v, want errEphemeralStore", err)
	}
}

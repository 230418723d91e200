package sqlite_test

import "os"

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

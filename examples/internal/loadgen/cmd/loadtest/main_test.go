package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"-inprocess", "-customers", "2", "-months", "1", "-batch", "2", "-reads", "40", "-c", "2", "-d", "30s"}
	if code := run(context.Background(), args, func(string) string { return "" }, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	// Header plus one row per scenario, every one without errors.
	for _, want := range []string{"| sqlite (in process) | settlement (POST", "| sqlite (in process) | settlement batch", "| sqlite (in process) | balance read"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunInProcessNetHTTP(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"-inprocess", "-nethttp", "-customers", "2", "-months", "1", "-reads", "20", "-c", "2", "-d", "30s"}
	if code := run(context.Background(), args, func(string) string { return "" }, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	if !strings.Contains(errb.String(), "net/http") || !strings.Contains(out.String(), "| sqlite (in process) | balance read") {
		t.Errorf("stderr %q, output:\n%s", errb.String(), out.String())
	}
}

func TestRunUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"bad store":        {"-store", "mysql"},
		"postgres, no URL": {"-store", "postgres"},
		"unknown flag":     {"-nope"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &out, &errb); code != 2 {
			t.Errorf("%s: exit %d, want 2 (%s)", name, code, errb.String())
		}
	}
}

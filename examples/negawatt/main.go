// Command negawatt is the program operator's CLI: fit baselines, compute
// savings and event savings, and check and simulate reward rules.
//
// Each subcommand lives in its own file and registers itself in init, so
// the dispatch here never changes when a subcommand is added.
//
// Exit codes: 0 success, 1 a check found problems (e.g. invalid rules or a
// failed award), 2 bad usage or bad input (one line on stderr).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one top-level subcommand.
type command struct {
	name    string
	summary string
	// run executes the subcommand with the arguments after its name and
	// returns the process exit code.
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

// register adds a subcommand; called from init functions.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("negawatt: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "negawatt: unknown command %q (run 'negawatt help')\n", args[0])
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: negawatt <command> [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitProblem = 1 // the command ran and found problems (invalid rules, failed awards)
	exitUsage   = 2 // bad usage or bad input
)

// fail prints err as one line prefixed with the command name and returns
// exitUsage. Use it for every bad-usage or bad-input error so the CLI never
// prints a stack trace.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "negawatt %s: %v\n", name, err)
	return exitUsage
}

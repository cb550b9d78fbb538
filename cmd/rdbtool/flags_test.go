package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/rdbtool/rdbtool/rdb"
)

// runCLI executes rdbtool with args and returns what it wrote to standard
// output, the exit status and the message main would print.
func runCLI(t *testing.T, args ...string) (stdout string, code int, msg string) {
	t.Helper()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0, errb.String()
	case errors.As(err, &ee):
		return out.String(), ee.code, errb.String() + err.Error()
	}
	return out.String(), 2, errb.String() + err.Error()
}

// TestCommandLineErrorsExit2 runs every command with each kind of wrong
// command line: an unknown flag, a missing argument, a format it does not
// write, a negative count, a size that does not parse. Each is refused
// before any input is read (the file named does not exist, so an error
// about it would show the check came too late), with exit 2 and a message
// that says what is valid.
func TestCommandLineErrorsExit2(t *testing.T) {
	missing := map[string]string{
		"info": "FILE", "analyze": "FILE", "memory": "FILE", "dump": "FILE", "check": "FILE", "keys": "FILE",
		"diff": "A", "convert": "IN", "split": "IN", "salvage": "DAMAGED", "restore": "SOURCE",
		"snapshot": "SOURCE-URL", "prune": "LOCATION", "ls": "s3://BUCKET/PREFIX",
	}
	const nofile = "/nonexistent/in.rdb"
	type tc struct {
		args []string
		want []string // in the message
	}
	var cases []tc
	for _, c := range newRootCommand().Commands() {
		name := c.Name()
		if name == "help" || name == "completion" {
			continue
		}
		help := fmt.Sprintf("see 'rdbtool %s --help'", name)
		// Enough arguments for the command: wrong flags are the only fault.
		names, _ := usageArgs(c.Use)
		args := []string{name}
		for range names {
			args = append(args, nofile)
		}
		cases = append(cases,
			tc{append(append([]string{}, args...), "--no-such-flag"), []string{"unknown flag: --no-such-flag", help}},
			tc{[]string{name}, []string{missing[name] + " is missing", help}},
		)
		if missing[name] == "" {
			t.Errorf("command %s: add its first argument to this test", name)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch t := f.Value.Type(); {
			case f.Name == "format":
				cv, ok := f.Value.(*choiceValue)
				if !ok {
					cases = append(cases, tc{[]string{name, "--format", "xyz", nofile}, []string{"registered with formatFlag"}})
					return
				}
				cases = append(cases, tc{append(append([]string{}, args...), "--format", "xyz"),
					[]string{`invalid argument "xyz" for "-f, --format"`, "want " + orList(cv.choices), help}})
			case sizeFlags[f.Name]:
				cases = append(cases, tc{append(append([]string{}, args...), "--"+f.Name, "lots"), []string{`cannot parse size "lots"`, help}})
			case t == "int" || t == "int64" || t == "uint" || t == "uint64":
				cases = append(cases, tc{append(append([]string{}, args...), "--"+f.Name, "-1"), []string{`"-1" for`, f.Name, help}})
			}
		})
	}
	// The rules named in the issue, spelled out.
	cases = append(cases,
		tc{[]string{"analyze", "--top", "-1", nofile}, []string{`invalid argument "-1" for "-n, --top" flag: want 0 or more`}},
		tc{[]string{"analyze", "-n", "-1", nofile}, []string{"want 0 or more"}},
		tc{[]string{"dump", "--jobs", "-1", nofile}, []string{`"--jobs" flag: want 0 or more`}},
		tc{[]string{"analyze", "-f", "xml", nofile}, []string{"want table, json or html"}},
		tc{[]string{"diff", "--mem-limit", "12Q", nofile, nofile}, []string{`cannot parse size "12Q"`}},
		tc{[]string{"diff", nofile}, []string{"B is missing (usage: rdbtool diff A B [flags])"}},
		tc{[]string{"convert", nofile, nofile, "extra"}, []string{`unexpected argument "extra"`}},
	)
	for _, c := range cases {
		out, code, msg := runCLI(t, c.args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", c.args, code, msg)
			continue
		}
		if strings.Contains(msg, nofile) {
			t.Errorf("%q: the input was opened before the command line was checked: %s", c.args, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: message lacks %q:\n%s", c.args, w, msg)
			}
		}
		if out != "" {
			t.Errorf("%q: wrote to standard output: %q", c.args, out)
		}
	}
	t.Logf("%d command lines refused", len(cases))
}

// TestSizeFlagsTakeUnits: a size flag given with a unit means the same
// as the number of bytes.
func TestSizeFlagsTakeUnits(t *testing.T) {
	for _, pair := range [][2][]string{
		{{"analyze", "-f", "json", "--maxmemory", "1M", sample}, {"analyze", "-f", "json", "--maxmemory", "1048576", sample}},
		{{"memory", "--min-bytes", "2K", sample}, {"memory", "--min-bytes", "2048", sample}},
	} {
		a, codeA, msgA := runCLI(t, pair[0]...)
		b, codeB, msgB := runCLI(t, pair[1]...)
		if codeA != 0 || codeB != 0 || a != b || a == "" {
			t.Errorf("%q (exit %d, %d bytes) and %q (exit %d, %d bytes) differ: %s %s", pair[0], codeA, len(a), pair[1], codeB, len(b), msgA, msgB)
		}
	}
}

func TestVersion(t *testing.T) {
	out, code, msg := runCLI(t, "--version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	for _, w := range []string{"rdbtool ", runtime.Version(), fmt.Sprintf("RDB versions 1-%d", rdb.MaxRedisVersion),
		fmt.Sprintf("Valkey's %d", rdb.MaxValkeyVersion), "redis-2.8 ... redis-8.6", "valkey-9.0"} {
		if !strings.Contains(out, w) {
			t.Errorf("--version lacks %q:\n%s", w, out)
		}
	}
}

// TestOutputFile: -o writes exactly what standard output would get, on
// every command that writes a report; an existing file is kept unless
// --overwrite; a command that fails leaves no file (not even a temporary
// one); a complete report with a non-zero status (diff: different; check:
// damaged) is written.
func TestOutputFile(t *testing.T) {
	b := "../../testdata/corpus/redis-7.2.6/main.rdb"
	for _, args := range [][]string{
		{"info", sample}, {"info", "-f", "json", sample},
		{"analyze", sample}, {"analyze", "-f", "json", sample}, {"analyze", "-f", "html", sample},
		{"memory", sample}, {"memory", "-f", "jsonl", sample},
		{"dump", sample}, {"dump", "-f", "resp", sample},
		{"diff", sample, b}, {"diff", "-f", "json", sample, b}, {"diff", "-f", "jsonl", sample, b},
		{"check", sample},
	} {
		want, wantCode, msg := runCLI(t, args...)
		if wantCode > 1 || want == "" {
			t.Fatalf("%q: exit %d, %d bytes: %s", args, wantCode, len(want), msg)
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "report")
		out, code, msg := runCLI(t, append(args, "-o", file)...)
		if code != wantCode || out != "" {
			t.Errorf("%q -o: exit %d (want %d), %d bytes on stdout: %s", args, code, wantCode, len(out), msg)
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%q -o: %v", args, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%q -o: the file differs from standard output (%d bytes, want %d)", args, len(got), len(want))
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o644 {
			t.Errorf("%q -o: mode %v", args, fi.Mode())
		}
		// An existing file is kept, and said to be there.
		os.WriteFile(file, []byte("keep me"), 0o644)
		if _, code, msg := runCLI(t, append(args, "-o", file)...); code != 2 || !strings.Contains(msg, "--overwrite replaces it") {
			t.Errorf("%q -o over an existing file: exit %d: %s", args, code, msg)
		}
		if got, _ := os.ReadFile(file); string(got) != "keep me" {
			t.Errorf("%q -o: the existing file was changed", args)
		}
		if _, code, _ := runCLI(t, append(args, "-o", file, "--overwrite")...); code != wantCode {
			t.Errorf("%q -o --overwrite: exit %d", args, code)
		}
		if got, _ := os.ReadFile(file); string(got) == "keep me" || len(got) == 0 {
			t.Errorf("%q -o --overwrite: not replaced", args)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%q: %d files left in the directory, want 1", args, len(ents))
		}
	}
	// A failure part-way (the second input does not exist) leaves nothing.
	dir := t.TempDir()
	for _, args := range [][]string{
		{"dump", sample, filepath.Join(dir, "missing.rdb")},
		{"memory", sample, filepath.Join(dir, "missing.rdb")},
		{"info", sample, filepath.Join(dir, "missing.rdb")},
	} {
		if _, code, msg := runCLI(t, append(args, "-o", filepath.Join(dir, "out"))...); code != 2 {
			t.Errorf("%q: exit %d: %s", args, code, msg)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%q failed and left %v", args, ents)
		}
	}
}

// TestExamplesParseAndAreInREADME: every command's --help has examples,
// each is a valid command line for that command's flags and arguments,
// and the README's Examples section shows the same lines.
func TestExamplesParseAndAreInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCommand()
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s --help shows no example", c.Name())
		}
		for _, line := range commandExamples[c.Name()] {
			if !bytes.Contains(readme, []byte(line)) {
				t.Errorf("README lacks the example %q", line)
			}
			words := shellWords(line)
			if words[0] != "rdbtool" || words[1] != c.Name() {
				t.Errorf("example %q is not for %s", line, c.Name())
				continue
			}
			cmd := newRootCommand()
			sub, rest, err := cmd.Find(words[1:])
			if err == nil {
				err = sub.ParseFlags(rest)
			}
			if err == nil {
				err = sub.ValidateArgs(sub.Flags().Args())
			}
			if err != nil {
				t.Errorf("example %q: %v", line, err)
			}
		}
	}
}

// shellWords splits an example as a shell would (single quotes; a pipe
// ends the command).
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case r == '|' && !quoted:
			return words
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

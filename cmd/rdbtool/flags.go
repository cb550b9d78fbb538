package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The rules every command's flags and arguments follow, applied once to
// the whole command tree by checkFlags: a value a command cannot use is
// refused while the command line is parsed (exit 2, with what is valid),
// before any input is read.

// choiceValue is a string flag that takes one of a fixed list of values.
type choiceValue struct {
	p       *string
	choices []string
}

func (v *choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v *choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("want %s", orList(v.choices))
	}
	*v.p = s
	return nil
}

func (v *choiceValue) Type() string { return "string" }

// orList is "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// formatFlag registers -f/--format: the first choice is the default.
func formatFlag(cmd *cobra.Command, p *string, usage string, choices ...string) {
	*p = choices[0]
	cmd.Flags().VarP(&choiceValue{p, choices}, "format", "f", usage)
}

// nonNegative refuses a negative value for an integer flag: every integer
// flag of rdbtool counts something (keys, goroutines, levels, seconds).
type nonNegative struct{ pflag.Value }

func (v nonNegative) Set(s string) error {
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64); err == nil && n < 0 {
		return fmt.Errorf("want 0 or more")
	}
	return v.Value.Set(s)
}

// sizeValue is a flag holding a byte size, given as a number of bytes or
// with a unit (512K, 256M, 2G, 1GiB): one that does not parse is refused
// while the flags are parsed. An integer flag gets the number of bytes; a
// string flag keeps the text for its command to parse.
type sizeValue struct{ pflag.Value }

func (v sizeValue) Set(s string) error {
	if strings.TrimSpace(s) == "0" {
		return v.Value.Set("0")
	}
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	if v.Value.Type() == "string" {
		return v.Value.Set(s)
	}
	return v.Value.Set(strconv.FormatInt(n, 10))
}

// sizeFlags are the flags that hold sizes, on every command that has them.
var sizeFlags = map[string]bool{"mem-limit": true, "maxmemory": true, "min-bytes": true}

// checkFlags applies the rules above to every command under root, and
// makes a wrong command line (an unknown flag, a bad value, a missing or
// extra argument) exit 2 with a pointer to the command's --help.
func checkFlags(root *cobra.Command) {
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{2, fmt.Errorf("%w\nsee '%s --help'", err, cmd.CommandPath())}
	})
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch t := f.Value.Type(); {
			case sizeFlags[f.Name]:
				f.Value = sizeValue{f.Value}
			case t == "int" || t == "int64":
				f.Value = nonNegative{f.Value}
			}
		})
		if c.Args != nil {
			c.Args = explainArgs(c.Args)
		}
	}
}

// explainArgs turns cobra's count message ("accepts 2 arg(s), received
// 1") into one that names what is missing or extra, from the command's
// usage line.
func explainArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if check(cmd, args) == nil {
			return nil
		}
		names, variadic := usageArgs(cmd.Use)
		var err error
		switch {
		case len(args) < len(names):
			err = fmt.Errorf("%s is missing", names[len(args)])
		case len(args) > len(names) && !variadic:
			err = fmt.Errorf("unexpected argument %q", args[len(names)])
		default:
			err = errors.New("wrong number of arguments")
		}
		return &exitError{2, fmt.Errorf("%w (usage: %s)\nsee '%s --help'", err, cmd.UseLine(), cmd.CommandPath())}
	}
}

// usageArgs returns the positional argument names of a usage line
// ("diff A B" → A, B; "analyze FILE..." → FILE, variadic), which end at
// the first flag.
func usageArgs(use string) (names []string, variadic bool) {
	for _, w := range strings.Fields(use)[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
			break
		}
		if strings.HasSuffix(w, "...") {
			w, variadic = strings.TrimSuffix(w, "..."), true
		}
		names = append(names, w)
	}
	return names, variadic
}

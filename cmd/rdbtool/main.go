// Command rdbtool looks inside, compares, converts and restores Redis and
// Valkey RDB snapshot files. Run "rdbtool help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/redis/go-redis/v9/logging"
	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/source"
)

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// readerFlags are the reader options every command that reads RDB takes.
type readerFlags struct {
	skipChecksum bool
	allowNewer   bool
	cmd          *cobra.Command // for -q/--quiet
}

func (f *readerFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().BoolVar(&f.skipChecksum, "skip-checksum", false, "do not verify the CRC-64 trailer")
	cmd.Flags().BoolVar(&f.allowNewer, "allow-newer", false, "try files whose RDB version is newer than this tool knows")
}

// inputs opens what commands read: local files, "-" and s3:// objects.
var inputs = source.Openers{s3src.Scheme: s3src.OpenSource}

// openSource opens an input by name.
func openSource(ctx context.Context, name string) (*source.Source, error) {
	return inputs.Open(ctx, name)
}

// open opens a source and an RDB reader over it, with the flags' options
// and any extra ones.
func (f *readerFlags) open(ctx context.Context, name string, extra ...rdb.Option) (*source.Source, *rdb.Reader, error) {
	src, err := openSource(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	opts := sourceOptions(src, name)
	if f.skipChecksum {
		opts = append(opts, rdb.WithoutChecksum())
	}
	if f.allowNewer {
		opts = append(opts, rdb.AllowNewerVersions())
	}
	if !f.quiet() {
		trackProgress(src, name)
	}
	return src, rdb.NewReader(src, append(opts, extra...)...), nil
}

// sourceOptions are the Reader options every input gets from its source:
// its name, its size, and random access when it is a plain local file.
func sourceOptions(src *source.Source, name string) []rdb.Option {
	opts := []rdb.Option{rdb.WithName(name), rdb.WithSize(src.RawSize())}
	if ra := src.ReaderAt(); ra != nil {
		opts = append(opts, rdb.WithReaderAt(ra))
	}
	return opts
}

// quiet tells whether -q/--quiet was given: no progress line.
func (f *readerFlags) quiet() bool {
	if f.cmd == nil {
		return false
	}
	q := f.cmd.Flags().Lookup("quiet")
	return q != nil && q.Value.String() == "true"
}

// expandInputs turns S3 shard-set patterns and prefixes among the
// command's FILE arguments into the objects they name, in shard order.
func expandInputs(cmd *cobra.Command, args []string) ([]string, error) {
	out, err := s3src.ExpandArgs(cmd.Context(), args)
	if err != nil {
		return nil, &exitError{2, err}
	}
	return out, nil
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "rdbtool",
		Short:         "Inspect, compare, convert and restore Redis and Valkey RDB snapshots",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionText(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	s3src.RegisterFlags(root.PersistentFlags())
	// go-redis would print dial and pool failures itself (to stderr, more
	// than once); each is also in the error our command reports.
	logging.Disable()
	// Every command is registered here, nowhere else ("rdbtool help" lists
	// them alphabetically).
	root.AddCommand(
		newInfoCommand(), newAnalyzeCommand(), newMemoryCommand(), newDumpCommand(),
		newDiffCommand(), newCheckCommand(), newSalvageCommand(),
		newConvertCommand(), newSplitCommand(), newRestoreCommand(),
		newSnapshotCommand(), newPruneCommand(), newLsCommand(),
		newKeysCommand(),
	)
	for _, c := range root.Commands() {
		// -q on every command that reads RDB as a stream, for its
		// progress line; a command with a --quiet of its own (convert,
		// split) gives it that meaning as well. check and salvage read
		// with random access and show no progress line.
		streamed := c.Name() != "check" && c.Name() != "salvage"
		if streamed && c.Flags().Lookup("skip-checksum") != nil && c.Flags().Lookup("quiet") == nil {
			c.Flags().BoolP("quiet", "q", false, "no progress line on stderr")
		}
		if c.Example == "" {
			c.Example = exampleText(c.Name())
		}
	}
	checkFlags(root)
	return root
}

// versionText is what --version prints: the module version this binary
// was built from, the Go release, and the RDB versions it reads (from
// the rdb package's table of releases).
func versionText() string {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
		if version == "(devel)" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					version += " " + s.Value[:12]
				}
			}
		}
	}
	// The release lines that write the formats this reader knows, by
	// server, oldest and newest.
	var span [2][2]rdb.Release
	for _, r := range rdb.Releases() {
		i := 0
		if r.Valkey {
			i = 1
		}
		if span[i][0].Major == 0 {
			span[i][0] = r
		}
		span[i][1] = r // oldest first within each server
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rdbtool %s\n", version)
	fmt.Fprintf(&b, "built with %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "reads RDB versions 1-%d and Valkey's %d: files of %s ... %s and %s ... %s (--allow-newer tries newer versions)",
		rdb.MaxRedisVersion, rdb.MaxValkeyVersion, span[0][0].Name(), span[0][1].Name(), span[1][0].Name(), span[1][1].Name())
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopProfile := startProfile()
	root := newRootCommand()
	root.SetErr(progressStderr{progress})
	err := root.ExecuteContext(ctx)
	endProgress()
	stopProfile()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "rdbtool:", ee.err)
		}
		os.Exit(ee.code)
	}
	if strings.HasPrefix(err.Error(), "unknown command") {
		err = fmt.Errorf("%w\nsee 'rdbtool --help'", err)
	}
	fmt.Fprintln(os.Stderr, "rdbtool:", err)
	os.Exit(2)
}

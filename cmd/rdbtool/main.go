// Command rdbtool looks inside, compares, converts and restores Redis and
// Valkey RDB snapshot files. Run "rdbtool help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

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
}

func (f *readerFlags) register(cmd *cobra.Command) {
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
	opts := []rdb.Option{rdb.WithName(name), rdb.WithSize(src.RawSize())}
	if f.skipChecksum {
		opts = append(opts, rdb.WithoutChecksum())
	}
	if f.allowNewer {
		opts = append(opts, rdb.AllowNewerVersions())
	}
	return src, rdb.NewReader(withProgress(src, name), append(opts, extra...)...), nil
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
	}
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
	)
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopProfile := startProfile()
	err := newRootCommand().ExecuteContext(ctx)
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
	fmt.Fprintln(os.Stderr, "rdbtool:", err)
	os.Exit(2)
}

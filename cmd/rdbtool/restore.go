package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/restore"
	"github.com/rdbtool/rdbtool/rewrite"
)

func newRestoreCommand() *cobra.Command {
	var f restoreFlags
	o := &f.opts
	cmd := &cobra.Command{
		Use:   "restore SOURCE... --target URL",
		Short: "Write the keys of RDB snapshots into a running Redis/Valkey server or cluster",
		Long: `Restore writes every key of the snapshots into a server: values, key TTLs
(absolute), hash field TTLs, stream groups and function libraries.

Each key goes the fastest faithful way: RESTORE with the value as stored
when the target loads the file's RDB version, RESTORE with a payload
re-encoded for an older target otherwise, and chunked commands built under
a temporary key and renamed into place for values larger than the target's
proto-max-bulk-len. An empty standalone target is instead, by default
(--method auto), loaded the way a replica loads its master's data: told
REPLICAOF this process, it connects back (to --sync-listen) and loads an
RDB stream written for its version, as fast as it loads a file at startup;
then REPLICAOF NO ONE. When that is not possible the keys go one by one.
Keys already expired are skipped, and so are empty collections (as a
server loading a file skips them).

Before anything is written, the target is checked: a replica is refused
(--detach-replica promotes it), so is a maxmemory that cannot hold the
snapshot or an evicting maxmemory-policy (--allow-eviction accepts the
risk), and one pass over the sources lists everything the target cannot
hold, with counts and the flag (--drop-*, --downgrade-streams,
--skip-modules, --map-db) that leaves each out: then nothing is written.
--dry-run runs these checks alone. A resume (--checkpoint) into a target
that restarted empty or lost keys is refused. After writing, the target's
keys per database and evicted_keys must agree with what was written.

The exit status is 0 when every key was written or deliberately skipped
and the final check holds, 1 when some key failed or was refused, the
target cannot hold part of the input (or --verify found a difference), 2
on errors that stopped the restore.

The target is redis://[user[:password]@]host[:port][/db] or rediss:// for
TLS (--tls-* options or tls-ca=, tls-cert=, tls-key=, tls-insecure=1 in the
URL query). The password can also come from REDISCLI_AUTH.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestore(cmd, args, &f)
		},
	}
	f.reader.register(cmd)
	f.rewrite.register(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&o.Target, "target", "", "redis://[user[:password]@]host[:port][/db] or rediss://...")
	fl.BoolVar(&o.Cluster, "cluster", false, "the target is a Redis Cluster: route keys by slot (MOVED/ASK followed)")
	fl.StringVar(&o.Username, "user", "", "ACL user (overrides the URL)")
	fl.StringVar(&o.Password, "password", "", "password (overrides the URL; default $REDISCLI_AUTH)")
	fl.StringVar(&o.TLS.CAFile, "tls-ca", "", "CA bundle (PEM) to verify the server")
	fl.StringVar(&o.TLS.CertFile, "tls-cert", "", "client certificate (PEM)")
	fl.StringVar(&o.TLS.KeyFile, "tls-key", "", "client key (PEM)")
	fl.BoolVar(&o.TLS.Insecure, "tls-insecure", false, "do not verify the server certificate")
	fl.StringVar(&o.TLS.ServerName, "tls-server-name", "", "server name to verify (SNI)")
	fl.IntVar(&o.Workers, "workers", 4, "connections per target node")
	fl.IntVar(&o.Pipeline, "pipeline", 256, "commands in flight per connection")
	fl.Float64Var(&o.Rate, "rate", 0, "at most this many keys per second (0: no limit)")
	fl.BoolVar(&f.replace, "replace", false, "overwrite keys that exist in the target")
	fl.BoolVar(&f.skipExisting, "skip-existing", false, "keep keys that exist in the target (reported as skipped)")
	fl.StringVar(&f.mode, "mode", "auto", "auto (RESTORE, commands for oversized values) or commands (always commands, except module values)")
	fl.StringVar(&f.method, "method", "auto", "auto (a replication full sync into an empty standalone target when possible, else key by key), sync (full sync or fail) or keys")
	fl.StringVar(&o.SyncListen, "sync-listen", "", "host:port the target connects back to for a full sync (default: this host's address towards the target, any port)")
	fl.Int64Var(&o.MaxPayload, "max-payload", 0, "send values larger than this many bytes as commands (default: the target's proto-max-bulk-len)")
	fl.IntVar(&o.ChunkElements, "chunk-elements", 512, "elements per command on the command path")
	fl.IntVar(&o.ChunkBytes, "chunk-bytes", 1<<20, "bytes per command on the command path")
	fl.BoolVar(&f.dropFieldTTLs, "drop-field-ttls", false, "targets before Redis 7.4: keep hash fields without their TTLs (expired fields are dropped)")
	fl.BoolVar(&f.downgradeStreams, "downgrade-streams", false, "leave out stream metadata an older target lacks")
	fl.BoolVar(&f.dropKeyMeta, "drop-key-meta", false, "leave out module key metadata older targets lack")
	fl.BoolVar(&f.dropFunctions, "drop-functions", false, "targets before Redis 7.0: leave out function libraries")
	fl.BoolVar(&f.skipModules, "skip-modules", false, "leave out module keys")
	fl.StringVar(&o.Checkpoint, "checkpoint", "", "record progress in FILE; an existing FILE is resumed")
	fl.BoolVar(&o.Verify, "verify", false, "afterwards, compare every key of the target with the sources")
	fl.BoolVar(&o.DryRun, "dry-run", false, "run every check made before writing (target role, memory, what the target cannot hold) and report; write nothing")
	fl.BoolVar(&o.DetachReplica, "detach-replica", false, "a target that is a replica is promoted (REPLICAOF NO ONE) instead of refused")
	fl.BoolVar(&o.AllowEviction, "allow-eviction", false, "accept a target with an evicting maxmemory-policy, or too small a maxmemory: keys may be lost")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line")
	return cmd
}

// restoreFlags holds restore's flags; opts is filled in directly by the
// flags that map one to one onto restore.Options.
type restoreFlags struct {
	reader  readerFlags
	rewrite rewriteFlags
	opts    restore.Options

	replace, skipExisting bool
	policyFlags
	skipModules, quiet bool
	mode, method       string
}

// runRestore is restore's RunE: it completes the options from the flags,
// restores and maps the report onto the exit status.
func runRestore(cmd *cobra.Command, args []string, f *restoreFlags) error {
	o := &f.opts
	if o.Target == "" {
		return &exitError{2, errors.New("--target URL is required")}
	}
	args, err := expandInputs(cmd, args)
	if err != nil {
		return err
	}
	if err := f.applyChoices(); err != nil {
		return err
	}
	if o.Password == "" {
		o.Password = os.Getenv("REDISCLI_AUTH")
	}
	filter, dbMap, err := f.rewrite.compile()
	if err != nil {
		return err
	}
	if err := findBigKeys(cmd.Context(), &f.reader, filter, args); err != nil {
		return err
	}
	if filter.Filtering() {
		o.Filter = filter.Keep
	}
	o.SkipModules = f.skipModules
	if len(dbMap) > 0 {
		o.MapDB = dbMap.DB
	}
	if f.reader.skipChecksum {
		o.ReaderOptions = append(o.ReaderOptions, rdb.WithoutChecksum())
	}
	if f.reader.allowNewer {
		o.ReaderOptions = append(o.ReaderOptions, rdb.AllowNewerVersions())
	}
	open := openSource
	if !f.quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		// Restore's own line (keys written) after the sources'
		// bytes read, percentage and time left.
		o.Progress = progress.statusWriter()
		open = openTracked
	}
	rep, err := restore.Restore(cmd.Context(), restore.FileInputs(open, args...), *o)
	endProgress()
	if rep != nil {
		rep.Print(cmd.OutOrStdout())
	}
	var incompatible *rewrite.Error
	if errors.As(err, &incompatible) {
		// Listed in the report, with the flags that leave each out.
		return &exitError{1, errors.New("the target cannot hold part of the input (listed above): nothing was written")}
	}
	if err != nil {
		if o.Checkpoint != "" {
			err = fmt.Errorf("%w (progress saved in %s: run the same command again to resume)", err, o.Checkpoint)
		}
		return &exitError{2, err}
	}
	if !rep.OK() {
		return &exitError{1, errors.New(strings.TrimSpace(summary(rep)))}
	}
	return nil
}

// applyChoices sets the options chosen by name or by a group of flags:
// --replace/--skip-existing, --mode, --method and the --drop-* policy.
func (f *restoreFlags) applyChoices() error {
	o := &f.opts
	if f.replace && f.skipExisting {
		return &exitError{2, errors.New("give --replace or --skip-existing, not both")}
	}
	switch {
	case f.replace:
		o.Conflict = restore.Replace
	case f.skipExisting:
		o.Conflict = restore.SkipExisting
	}
	switch f.mode {
	case "auto":
	case "commands":
		o.Mode = restore.Commands
	default:
		return &exitError{2, fmt.Errorf("--mode %q: use auto or commands", f.mode)}
	}
	switch f.method {
	case "auto":
		o.Method = restore.MethodAuto
	case "sync":
		o.Method = restore.MethodSync
	case "keys":
		o.Method = restore.MethodKeys
	default:
		return &exitError{2, fmt.Errorf("--method %q: use auto, sync or keys", f.method)}
	}
	o.Policy |= f.policy()
	return nil
}

func summary(rep *restore.Report) string {
	var parts []string
	if rep.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d key(s) failed", rep.Failed))
	}
	if rep.Refused > 0 {
		parts = append(parts, fmt.Sprintf("%d key(s) refused", rep.Refused))
	}
	if rep.FunctionsFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d function librar(ies) failed", rep.FunctionsFailed))
	}
	if rep.Verify != nil && !rep.Verify.OK() {
		parts = append(parts, fmt.Sprintf("verify: %d missing, %d different", rep.Verify.Missing, rep.Verify.Different))
	}
	return strings.Join(parts, "; ")
}

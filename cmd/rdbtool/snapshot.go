package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/internal/periodic"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/snapshot"
)

func newSnapshotCommand() *cobra.Command {
	var f snapshotFlags
	o := &f.opts
	cmd := &cobra.Command{
		Use:   "snapshot SOURCE-URL OUT",
		Short: "Take a verified RDB snapshot of a live Redis or Valkey server (or cluster) to a file or S3",
		Long: `Snapshot connects to a running server as a replica would (REPLCONF capa,
PSYNC ? -1, or SYNC for servers before 2.8), receives the RDB of a full
sync in either transfer form (a length-prefixed file, or the diskless
stream ended by an EOF mark) and hangs up: it never becomes a replica.

The RDB is checked while it arrives (every record's framing and the CRC-64
trailer) and appears under OUT only once verified: a local file is written
under a temporary name, synced and renamed; an s3://bucket/key object is a
multipart upload completed only then, and aborted otherwise. OUT may hold
%Y %m %d %H %M %S (UTC) and ends in "/" for a directory or prefix (the
snapshot is then named snapshot.rdb in it, or snapshot-0001.rdb, ... with
--cluster). An existing OUT is not
overwritten unless --overwrite.

--cluster snapshots every shard of the cluster SOURCE-URL belongs to,
concurrently (--parallel), from its master or with --from-replicas from a
healthy replica, as NAME-0001.rdb, NAME-0002.rdb, ... in slot order (as an
ElastiCache export names its shards) with NAME.manifest.json; every command
that reads files reads the set as one dataset. Either the whole set is
written or none of it.

SOURCE-URL is redis://[user[:password]@]host[:port] or rediss:// for TLS.
The ACL user needs only what a replica needs: +psync +replconf +ping (and
+cluster|nodes for --cluster, +sync for --sync). The exit status is 0 only
when every snapshot was received, verified and stored.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSnapshot(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.cluster, "cluster", false, "snapshot every shard of the cluster SOURCE-URL belongs to, with a manifest")
	fl.BoolVar(&o.FromReplicas, "from-replicas", false, "with --cluster: snapshot a healthy replica of each shard, not its master")
	fl.IntVar(&o.Parallel, "parallel", 4, "with --cluster: shards snapshotted at once")
	fl.BoolVar(&o.Sync, "sync", false, "ask with SYNC instead of PSYNC (servers before 2.8; otherwise used only when PSYNC is unknown)")
	fl.DurationVar(&o.Timeout, "timeout", 60*time.Second, "how long the server may stay silent (it sends a newline every second while it prepares the RDB)")
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace an existing snapshot of the same name")
	formatFlag(cmd, &f.format, "text or json (the snapshot's facts, or the cluster manifest)", "text", "json")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line on a terminal")
	fl.StringVar(&o.Username, "user", "", "ACL user (overrides the URL)")
	fl.StringVar(&o.Password, "password", "", "password (overrides the URL; default $REDISCLI_AUTH)")
	fl.StringVar(&o.TLS.CAFile, "tls-ca", "", "CA bundle (PEM) to verify the server")
	fl.StringVar(&o.TLS.CertFile, "tls-cert", "", "client certificate (PEM)")
	fl.StringVar(&o.TLS.KeyFile, "tls-key", "", "client key (PEM)")
	fl.BoolVar(&o.TLS.Insecure, "tls-insecure", false, "do not verify the server certificate")
	fl.StringVar(&o.TLS.ServerName, "tls-server-name", "", "server name to verify (SNI)")
	fl.BoolVar(&o.AllowNewer, "allow-newer", false, "accept an RDB version newer than this tool knows (its framing is then checked as far as it is known)")
	return cmd
}

// snapshotFlags holds snapshot's flags; opts is filled in directly by the
// flags that map one to one onto snapshot.ClusterOptions.
type snapshotFlags struct {
	opts      snapshot.ClusterOptions
	cluster   bool
	format    string
	overwrite bool
	quiet     bool
}

// runSnapshot is snapshot's RunE: it checks the flags and OUT, then takes
// one server's snapshot or, with --cluster, every shard's.
func runSnapshot(cmd *cobra.Command, args []string, f *snapshotFlags) error {
	if f.format != "text" && f.format != "json" {
		return &exitError{2, fmt.Errorf("unknown --format %q (text or json)", f.format)}
	}
	if f.opts.Password == "" {
		f.opts.Password = os.Getenv("REDISCLI_AUTH")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := snapshot.ExpandTime(args[1], time.Now().UTC())
	if err != nil {
		return &exitError{2, err}
	}
	if err := checkOutName(out); err != nil {
		return &exitError{2, err}
	}
	if !f.cluster {
		return snapshotServer(ctx, cmd, args[0], out, f)
	}
	return snapshotCluster(ctx, cmd, args[0], out, f)
}

// snapshotServer takes one server's snapshot into out (a file, or
// snapshot.rdb in a directory or under a prefix).
func snapshotServer(ctx context.Context, cmd *cobra.Command, src, out string, f *snapshotFlags) error {
	if f.opts.FromReplicas {
		return &exitError{2, errors.New("--from-replicas needs --cluster")}
	}
	if strings.HasSuffix(out, "/") || isLocalDir(out) {
		out = strings.TrimSuffix(out, "/") + "/snapshot.rdb"
	}
	if !f.overwrite {
		if err := refuseExisting(ctx, out); err != nil {
			return &exitError{2, err}
		}
	}
	r, err := snapshot.Open(ctx, src, f.opts.Options)
	if err != nil {
		return &exitError{2, err}
	}
	stop := snapshotProgress(cmd, f.quiet, func() int64 { return r.Received() })
	err = snapshot.Save(ctx, r, out)
	stop()
	info := r.Info()
	r.Close()
	if err != nil {
		return &exitError{2, err}
	}
	return printSnapshot(cmd.OutOrStdout(), f.format, out, info)
}

// snapshotCluster takes every shard's snapshot of the cluster src belongs
// to, with a manifest, and prints the manifest.
func snapshotCluster(ctx context.Context, cmd *cobra.Command, src, out string, f *snapshotFlags) error {
	o := &f.opts
	if isLocalDir(out) && !strings.HasSuffix(out, "/") {
		out += "/"
	}
	if !f.overwrite {
		files, manifest := snapshot.ClusterNames(out, 1)
		for _, name := range []string{files[0], manifest} {
			if err := refuseExisting(ctx, name); err != nil {
				return &exitError{2, err}
			}
		}
	}
	var mu sync.Mutex
	var readers []*snapshot.Reader
	o.OnOpen = func(_ int, r *snapshot.Reader) {
		mu.Lock()
		readers = append(readers, r)
		mu.Unlock()
	}
	stop := snapshotProgress(cmd, f.quiet, func() int64 {
		mu.Lock()
		defer mu.Unlock()
		var n int64
		for _, r := range readers {
			n += r.Received()
		}
		return n
	})
	m, err := snapshot.TakeCluster(ctx, src, out, *o)
	stop()
	if err != nil {
		return &exitError{2, err}
	}
	_, manifest := snapshot.ClusterNames(out, len(m.Shards))
	if f.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	w := cmd.OutOrStdout()
	for _, s := range m.Shards {
		fmt.Fprintf(w, "%s: %s %s slots %s: %d bytes, %d keys, RDB %d (%s), checksum %s\n",
			s.File, s.Role, s.Address, slotText(s.Slots), s.Bytes, s.Keys, s.RDBVersion, s.ServerVersion, s.Checksum)
	}
	fmt.Fprintf(w, "%s: manifest of %d shards\n", manifest, len(m.Shards))
	return nil
}

// checkOutName refuses outputs a snapshot cannot honestly be written to.
func checkOutName(out string) error {
	if out == "-" {
		return errors.New("OUT is a file, a directory or an s3:// URL: standard output cannot be taken back if the snapshot fails verification")
	}
	for _, ext := range []string{".gz", ".gzip", ".zst", ".zstd", ".lz4"} {
		if strings.HasSuffix(strings.ToLower(out), ext) {
			return fmt.Errorf("%s: snapshots are written as the server sends them, uncompressed; name it .rdb", out)
		}
	}
	return nil
}

// snapshotProgress prints the bytes received every second on a terminal
// until the returned function is called.
func snapshotProgress(cmd *cobra.Command, quiet bool, received func() int64) func() {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return func() {}
	}
	w := cmd.ErrOrStderr()
	start := time.Now()
	stop := periodic.Every(time.Second, func() {
		n := received()
		fmt.Fprintf(w, "\r\033[Kreceived %s (%s/s)", binarySize(float64(n)), binarySize(float64(n)/time.Since(start).Seconds()))
	})
	return func() {
		stop()
		fmt.Fprint(w, "\r\033[K")
	}
}

func isLocalDir(name string) bool {
	if s3src.IsURL(name) {
		return false
	}
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// refuseExisting fails when a snapshot already has the name.
func refuseExisting(ctx context.Context, name string) error {
	if s3src.IsURL(name) {
		st, err := s3src.Default(ctx)
		if err != nil {
			return err
		}
		objs, err := st.List(ctx, name, false)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.URL == name {
				return fmt.Errorf("%s exists: give another name (OUT may hold %%Y-%%m-%%dT%%H%%M) or --overwrite", name)
			}
		}
		return nil
	}
	if _, err := os.Stat(name); err == nil {
		return fmt.Errorf("%s exists: give another name (OUT may hold %%Y-%%m-%%dT%%H%%M) or --overwrite", name)
	}
	return nil
}

func slotText(ranges [][2]int) string {
	var parts []string
	for _, r := range ranges {
		if r[0] == r[1] {
			parts = append(parts, fmt.Sprint(r[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ",")
}

func printSnapshot(w io.Writer, format, out string, info snapshot.Info) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			File string `json:"file"`
			snapshot.Info
			Checksum string `json:"checksum"`
		}{out, info, info.Checksum.String()})
	}
	form := "length-prefixed"
	if info.Diskless {
		form = "diskless"
	}
	fmt.Fprintf(w, "%s: %d bytes, %d keys, %s RDB %d (server %s), checksum %s, sha256 %s, from %s by %s (%s), replication offset %d\n",
		out, info.Bytes, info.Keys, info.Dialect, info.RDBVersion, info.ServerVersion, info.Checksum, info.SHA256,
		info.Source, strings.ToUpper(info.Method), form, info.ReplOffset)
	return nil
}

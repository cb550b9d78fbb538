package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/source"
)

// lsObject is one snapshot in "rdbtool ls" output.
type lsObject struct {
	URL           string    `json:"url"`
	Size          int64     `json:"size"`
	Modified      time.Time `json:"modified"`
	Dialect       string    `json:"dialect,omitempty"`
	Version       int       `json:"rdb_version,omitempty"`
	Server        string    `json:"server,omitempty"`
	ServerVersion string    `json:"server_version,omitempty"`
	Compression   string    `json:"compression,omitempty"`
	Error         string    `json:"error,omitempty"`
}

// lsSet is a shard set (or a lone snapshot).
type lsSet struct {
	Pattern string     `json:"pattern"`
	Shards  int        `json:"shards"`
	Size    int64      `json:"size"`
	Objects []lsObject `json:"objects"`
}

func newLsCommand() *cobra.Command {
	var (
		format   string
		output   outputFlags
		all      bool
		parallel int
	)
	cmd := &cobra.Command{
		Use:   "ls s3://BUCKET/PREFIX...",
		Short: "List the snapshots under an S3 prefix with their size, date, RDB version and server version",
		Long: `Ls lists the snapshots (*.rdb, and *.rdb.gz, .zst, .lz4) under S3 prefixes,
grouped into shard sets: an ElastiCache export writes NAME-0001.rdb,
NAME-0002.rdb, ... for one backup, and "NAME-*.rdb" names the set for the
commands that read several files. The RDB and server versions come from
each object's first bytes, read with one ranged GET.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return &exitError{2, fmt.Errorf("unknown --format %q (table or json)", format)}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			st, err := s3src.Default(ctx)
			if err != nil {
				return &exitError{2, err}
			}
			var sets []lsSet
			for _, arg := range args {
				if !s3src.IsURL(arg) {
					return &exitError{2, fmt.Errorf("%s: ls lists s3://bucket/prefix locations", arg)}
				}
				objs, err := st.List(ctx, arg, true)
				if err != nil {
					return &exitError{2, err}
				}
				if !all {
					kept := objs[:0]
					for _, o := range objs {
						if s3src.LooksLikeSnapshot(o.Key) {
							kept = append(kept, o)
						}
					}
					objs = kept
				}
				headers := readHeaders(ctx, st, objs, parallel)
				for _, g := range s3src.GroupShards(objs) {
					set := lsSet{Pattern: g.Pattern, Shards: len(g.Objects)}
					for _, o := range g.Objects {
						lo := lsObject{URL: o.URL, Size: o.Size, Modified: o.LastModified.UTC()}
						if h := headers[o.URL]; h.err != nil {
							lo.Error = h.err.Error()
						} else {
							lo.Dialect, lo.Version = h.Dialect.String(), h.Version
							lo.Server, lo.ServerVersion, lo.Compression = h.ServerName(), h.ServerVersion(), h.compression
						}
						set.Size += o.Size
						set.Objects = append(set.Objects, lo)
					}
					sets = append(sets, set)
				}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if sets == nil {
					sets = []lsSet{}
				}
				return enc.Encode(sets)
			}
			printLs(out, sets)
			return nil
		},
	}
	formatFlag(cmd, &format, "output format: table or json", "table", "json")
	output.register(cmd, false)
	cmd.Flags().BoolVar(&all, "all", false, "list every object, not only *.rdb names (headers of non-RDB objects show as errors)")
	cmd.Flags().IntVar(&parallel, "parallel", 8, "headers read at once")
	return cmd
}

type lsHeader struct {
	rdb.Header
	compression string
	err         error
}

// readHeader reads the header of one object from its first bytes,
// decompressing them when they are compressed.
func readHeader(ctx context.Context, st *s3src.Store, url string) (lsHeader, error) {
	body, err := st.OpenPrefix(ctx, url, rdb.HeaderBytes)
	if err != nil {
		return lsHeader{}, err
	}
	defer body.Close()
	dr, comp, closeFn, err := source.Decompress(body)
	if err != nil {
		return lsHeader{}, fmt.Errorf("%s: %w", url, err)
	}
	defer closeFn()
	h, err := rdb.ReadHeader(dr, rdb.WithName(url))
	return lsHeader{Header: h, compression: comp}, err
}

// readHeaders reads each object's header, parallel requests at a time.
func readHeaders(ctx context.Context, st *s3src.Store, objs []s3src.Object, parallel int) map[string]lsHeader {
	if parallel < 1 {
		parallel = 1
	}
	res := make(map[string]lsHeader, len(objs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for _, o := range objs {
		if o.Size == 0 {
			res[o.URL] = lsHeader{err: fmt.Errorf("empty object")}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(url string) {
			defer func() { <-sem; wg.Done() }()
			h, err := readHeader(ctx, st, url)
			if err != nil {
				// The listing already names the object: keep the reason.
				h.err = fmt.Errorf("%s", strings.TrimPrefix(err.Error(), url+": "))
			}
			mu.Lock()
			res[url] = h
			mu.Unlock()
		}(o.URL)
	}
	wg.Wait()
	return res
}

func printLs(w io.Writer, sets []lsSet) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT\tSIZE\tMODIFIED (UTC)\tRDB\tSERVER\t")
	for _, s := range sets {
		if s.Shards > 1 {
			fmt.Fprintf(tw, "%s (%d shards)\t%s\t\t\t\t\n", s.Pattern, s.Shards, lsBytes(s.Size))
			for _, o := range s.Objects {
				fmt.Fprintf(tw, "  %s\t%s\n", path.Base(o.URL), lsColumns(o))
			}
			continue
		}
		o := s.Objects[0]
		fmt.Fprintf(tw, "%s\t%s\n", o.URL, lsColumns(o))
	}
	tw.Flush()
	if len(sets) == 0 {
		fmt.Fprintln(w, "no snapshots found")
	}
}

func lsColumns(o lsObject) string {
	rdbCol, server := "-", "-"
	if o.Error != "" {
		server = "(" + o.Error + ")"
	} else {
		rdbCol = fmt.Sprint(o.Version)
		server = o.Server + " " + o.ServerVersion
		if o.Compression != "" {
			rdbCol += " " + o.Compression
		}
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t", lsBytes(o.Size), o.Modified.Format("2006-01-02 15:04:05"), rdbCol, server)
}

func lsBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

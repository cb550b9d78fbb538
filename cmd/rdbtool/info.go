package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/rdb"
)

// fileInfo is what "rdbtool info" reports for one file.
type fileInfo struct {
	File      string            `json:"file"`
	Dialect   string            `json:"dialect"`
	Version   int               `json:"rdb_version"`
	Aux       map[string]string `json:"aux"`
	DBs       []dbInfo          `json:"dbs"`
	Types     []countRow        `json:"types"`
	Functions []string          `json:"functions"`
	Modules   []string          `json:"module_types"`
	Checksum  string            `json:"checksum"`
	Bytes     int64             `json:"bytes"`
	// Slots: the cluster slot statistics (opcode 244, Redis 7.4+ cluster
	// nodes), in file order.
	Slots []slotInfo `json:"slots"`
}

type slotInfo struct {
	Slot    int    `json:"slot"`
	Keys    uint64 `json:"keys"`
	Expires uint64 `json:"expires"`
}

type dbInfo struct {
	DB          int    `json:"db"`
	Keys        uint64 `json:"keys"`
	WithExpiry  uint64 `json:"keys_with_expiry"`
	ResizeHint  uint64 `json:"resize_hint_keys"`
	ExpiresHint uint64 `json:"resize_hint_expires"`
}

type countRow struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Keys     uint64 `json:"keys"`
}

func newInfoCommand() *cobra.Command {
	var rf readerFlags
	var format string
	var output outputFlags
	var rawBytes bool
	cmd := &cobra.Command{
		Use:   "info FILE...",
		Short: "Show a snapshot's version, aux fields, databases, types and checksum",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			var all []fileInfo
			for _, name := range args {
				fi, err := collectInfo(cmd, &rf, name)
				if err != nil {
					return &exitError{2, err}
				}
				all = append(all, fi)
			}
			endProgress()
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if len(all) == 1 {
					return enc.Encode(all[0])
				}
				return enc.Encode(all)
			case "table":
				now := time.Now()
				for _, fi := range all {
					printInfo(out, fi, rawBytes, now)
				}
				return nil
			}
			return &exitError{2, fmt.Errorf("unknown --format %q (table or json)", format)}
		},
	}
	rf.register(cmd)
	formatFlag(cmd, &format, "output format: table or json", "table", "json")
	output.register(cmd, false)
	cmd.Flags().BoolVar(&rawBytes, "bytes", false, "table: sizes as exact byte counts instead of KiB, MiB, GiB")
	return cmd
}

func collectInfo(cmd *cobra.Command, rf *readerFlags, name string) (fileInfo, error) {
	src, r, err := rf.open(cmd.Context(), name)
	if err != nil {
		return fileInfo{}, err
	}
	defer src.Close()
	fi := fileInfo{File: name, Aux: map[string]string{}, Functions: []string{}, Modules: []string{}, Slots: []slotInfo{}}
	dbs := map[int]*dbInfo{}
	db := func(n int) *dbInfo {
		if dbs[n] == nil {
			dbs[n] = &dbInfo{DB: n}
		}
		return dbs[n]
	}
	types := map[[2]string]uint64{}
	modules := map[string]bool{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fi, err
		}
		switch rec.Kind {
		case rdb.KindAux:
			fi.Aux[string(rec.AuxKey)] = string(rec.AuxValue)
		case rdb.KindResizeDB:
			d := db(rec.DB)
			d.ResizeHint, d.ExpiresHint = rec.DBSize, rec.ExpiresSize
		case rdb.KindSlotInfo:
			fi.Slots = append(fi.Slots, slotInfo{rec.Slot, rec.SlotKeys, rec.SlotExpires})
		case rdb.KindFunction:
			fi.Functions = append(fi.Functions, functionName(rec))
		case rdb.KindModuleAux:
			modules[rec.Module.Name] = true
		case rdb.KindKey:
			d := db(rec.DB)
			d.Keys++
			if rec.ExpireAt != 0 {
				d.WithExpiry++
			}
			t := rec.Type.String()
			if rec.Type == rdb.TypeModule {
				m, err := r.Module()
				if err != nil {
					return fi, err
				}
				t = m.Name
				modules[m.Name] = true
			}
			types[[2]string{t, rec.Encoding}]++
		}
	}
	fi.Dialect, fi.Version = r.Dialect().String(), r.Version()
	if r.KeyDB() {
		fi.Dialect = "keydb"
	}
	st, sum := r.Checksum()
	fi.Checksum = st.String()
	if st == rdb.ChecksumVerified {
		fi.Checksum += fmt.Sprintf(" (%016x)", sum)
	}
	fi.Bytes = r.Offset()
	for _, d := range dbs {
		fi.DBs = append(fi.DBs, *d)
	}
	sort.Slice(fi.DBs, func(i, j int) bool { return fi.DBs[i].DB < fi.DBs[j].DB })
	for k, n := range types {
		fi.Types = append(fi.Types, countRow{k[0], k[1], n})
	}
	sort.Slice(fi.Types, func(i, j int) bool {
		if fi.Types[i].Type != fi.Types[j].Type {
			return fi.Types[i].Type < fi.Types[j].Type
		}
		return fi.Types[i].Encoding < fi.Types[j].Encoding
	})
	for m := range modules {
		fi.Modules = append(fi.Modules, m)
	}
	sort.Strings(fi.Modules)
	return fi, nil
}

// functionName extracts the library name from a "#!lua name=..." header.
func functionName(rec *rdb.Record) string {
	if rec.FunctionName != nil {
		return string(rec.FunctionName)
	}
	code := rec.Function
	if i := bytes.IndexByte(code, '\n'); i >= 0 {
		code = code[:i]
	}
	const marker = "name="
	for i := 0; i+len(marker) <= len(code); i++ {
		if string(code[i:i+len(marker)]) == marker {
			end := i + len(marker)
			for end < len(code) && code[end] != ' ' {
				end++
			}
			return string(code[i+len(marker) : end])
		}
	}
	return string(code)
}

func printableAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = printable(s)
	}
	return out
}

// auxShown is an aux value as the table shows it: times as UTC dates with
// their age and sizes in binary units beside the raw number, so the raw
// value stays visible.
func auxShown(key, value string, rawBytes bool, now time.Time) string {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 0 {
		return printable(value)
	}
	switch {
	case key == "ctime":
		return display.Time(time.Unix(n, 0), now) + ", " + value
	case key == "used-mem" && !rawBytes:
		return display.Bytes(uint64(n)) + ", " + value
	}
	return value
}

// newTable is a table whose headers are shown as written.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

func printInfo(w io.Writer, fi fileInfo, rawBytes bool, now time.Time) {
	size := strconv.FormatInt(fi.Bytes, 10) + " bytes"
	if !rawBytes {
		size = display.Bytes(uint64(fi.Bytes))
	}
	fmt.Fprintf(w, "%s: %s RDB version %d, %s, checksum %s\n", printable(fi.File), fi.Dialect, fi.Version, size, fi.Checksum)
	if len(fi.Aux) > 0 {
		keys := make([]string, 0, len(fi.Aux))
		for k := range fi.Aux {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := newTable(w)
		t.Header("aux field", "value")
		for _, k := range keys {
			t.Append(printable(k), auxShown(k, fi.Aux[k], rawBytes, now))
		}
		t.Render()
	}
	t := newTable(w)
	t.Header("db", "keys", "with expiry", "resize hint")
	for _, d := range fi.DBs {
		t.Append(strconv.Itoa(d.DB), strconv.FormatUint(d.Keys, 10), strconv.FormatUint(d.WithExpiry, 10), fmt.Sprintf("%d/%d", d.ResizeHint, d.ExpiresHint))
	}
	t.Render()
	t = newTable(w)
	t.Header("type", "encoding", "keys")
	for _, c := range fi.Types {
		t.Append(printable(c.Type), c.Encoding, strconv.FormatUint(c.Keys, 10))
	}
	t.Render()
	if len(fi.Slots) > 0 {
		var keys, expires uint64
		for _, sl := range fi.Slots {
			keys += sl.Keys
			expires += sl.Expires
		}
		fmt.Fprintf(w, "cluster slot info: %d slots, %d keys, %d with expiry", len(fi.Slots), keys, expires)
		if len(fi.Slots) <= 16 {
			for i, sl := range fi.Slots {
				sep := "; "
				if i == 0 {
					sep = ": "
				}
				fmt.Fprintf(w, "%sslot %d %d/%d", sep, sl.Slot, sl.Keys, sl.Expires)
			}
		}
		fmt.Fprintln(w)
	}
	if len(fi.Functions) > 0 {
		fmt.Fprintf(w, "function libraries: %v\n", printableAll(fi.Functions))
	}
	if len(fi.Modules) > 0 {
		fmt.Fprintf(w, "module types: %v\n", printableAll(fi.Modules))
	}
	fmt.Fprintln(w)
}

package main

import "strings"

// commandExamples are the examples each command's --help shows, and the
// README's "Examples" section repeats (TestExamplesParseAndAreInREADME
// keeps the two the same and every line valid for the command's flags).
var commandExamples = map[string][]string{
	"info": {
		"rdbtool info dump.rdb",
		"rdbtool info -f json -o info.json dump.rdb.gz",
	},
	"analyze": {
		"rdbtool analyze dump.rdb",
		"rdbtool analyze -n 20 --server-version 7.2.4 dump.rdb",
		"rdbtool analyze -f html -o report.html 's3://backups/prod/cache-*.rdb'",
	},
	"memory": {
		"rdbtool memory dump.rdb -o keys.csv",
		"rdbtool memory -f jsonl --type hash --min-bytes 1048576 dump.rdb",
		"rdbtool memory -f parquet -o lake/keys/ backups/cache-*.rdb",
	},
	"dump": {
		"rdbtool dump -o keys.jsonl dump.rdb",
		"rdbtool dump -f resp dump.rdb | redis-cli --pipe",
	},
	"keys": {
		"rdbtool keys dump.rdb --match 'user:*'",
	},
	"diff": {
		"rdbtool diff yesterday.rdb today.rdb",
		"rdbtool diff -f json -o changes.json dump.rdb redis://127.0.0.1:6379",
	},
	"check": {
		"rdbtool check dump.rdb",
		"rdbtool check -o check.txt /var/backups/redis/*.rdb",
	},
	"salvage": {
		"rdbtool salvage damaged.rdb recovered.rdb --report damage.txt",
	},
	"convert": {
		"rdbtool convert dump.rdb old.rdb --target redis-6.2",
		"rdbtool convert dump.rdb sessions.rdb --db 0 --match 'session:*' -q",
	},
	"split": {
		"rdbtool split dump.rdb --slots-per-file 5462 --out-prefix shard-",
	},
	"restore": {
		"rdbtool restore dump.rdb --target redis://127.0.0.1:6380",
		"rdbtool restore 's3://backups/prod/cache-*.rdb' --target redis://node1:6379 --cluster --checkpoint restore.ckpt",
	},
	"snapshot": {
		"rdbtool snapshot redis://backup@127.0.0.1:6379 /var/backups/redis/%Y-%m-%dT%H%M.rdb",
	},
	"prune": {
		"rdbtool prune /var/backups/redis --keep-daily 7 --keep-weekly 4 --apply",
	},
	"ls": {
		"rdbtool ls s3://backups/prod/",
		"rdbtool ls -f json -o snapshots.json s3://backups/prod/",
	},
}

// exampleText is the Example field of a command's help.
func exampleText(name string) string {
	ex := commandExamples[name]
	if len(ex) == 0 {
		return ""
	}
	return "  " + strings.Join(ex, "\n  ")
}

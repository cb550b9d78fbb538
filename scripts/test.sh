#!/usr/bin/env bash
# Sets up what the tests need on a Debian machine, then runs every test.
# Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# redis-server and redis-check-rdb: tests start their own servers on
# loopback ports and check that real servers load what we write.
# chromium: the HTML report is rendered headless and its screenshot checked.
missing=()
command -v redis-server >/dev/null && command -v redis-check-rdb >/dev/null || missing+=(redis-server redis-tools)
command -v chromium >/dev/null || missing+=(chromium)
# g++: the DuckDB tests (internal/duckdbtest) link DuckDB through cgo.
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export RDBTOOL_BROWSER_TESTS=1
# The Debian package may start a system service on 6379; tests never use it.
if command -v service >/dev/null && pgrep -x redis-server >/dev/null 2>&1; then
  as_root service redis-server stop >/dev/null 2>&1 || true
fi

command -v go >/dev/null || { echo "Go is required (https://go.dev/dl/)" >&2; exit 1; }

# versitygw: a real S3-compatible server for the S3 tests (go install, cached).
bash scripts/install-versitygw.sh

# The small benchmark snapshot (520,020 keys, about a minute to make):
# analyze's load test compares its prediction with a server that loads it.
# The loader lives in ../shared/benchdata; without it that test skips.
if [ -d ../shared/benchdata ]; then
  echo "== benchmark snapshot small"
  go run ./cmd/rdbbench make --scale small
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
# staticcheck, pinned (go install, cached like versitygw).
STATICCHECK_VERSION=v0.8.2
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
  (cd / && go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
fi
echo "== staticcheck"
"$staticcheck" ./...
echo "== go test"
go test -count=1 ./...
# The packages that run goroutines of their own, under the race detector
# (sampled tests: -short).
echo "== go test -race -short"
go test -count=1 -race -short ./analyze ./columnar ./diff ./internal/keydigest ./snapshot
# rdb: the parallel reader and the Writer's background output (the whole
# package under -race takes over ten minutes here).
go test -count=1 -race -short -run 'Parallel|KeyEncoder|TestWriterRoundTrip|Example' ./rdb
# The Parquet exports queried by DuckDB: a module of its own (cgo), so the
# library does not need cgo. A DuckDB that does not build fails the run.
echo "== go test internal/duckdbtest (DuckDB)"
(cd internal/duckdbtest && CGO_ENABLED=1 go vet ./... && CGO_ENABLED=1 go test -count=1 ./...)
# Each fuzz target briefly, from its seed corpus (longer runs by hand).
FUZZTIME=${FUZZTIME:-10s}
# Targets are ./fuzz's, and package/Target for one kept beside its package.
for target in $(go test ./fuzz -list 'Fuzz.*' | grep '^Fuzz') rdb/FuzzRoundTrip; do
  pkg=fuzz; case $target in */*) pkg=${target%/*}; target=${target#*/};; esac
  echo "== fuzz $target ($FUZZTIME)"
  # Quiet when it passes; a failure prints the crasher and its output.
  # Minimizing each new input is bounded by runs, not time: a time bound
  # (1s, or the default 60s) spent most of a short run minimizing and left
  # few executions for fuzzing.
  log=$(mktemp)
  fuzz_once() { go test "./$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 50x >"$log" 2>&1; }
  crashers() { { ls "$pkg/testdata/fuzz/$target" 2>/dev/null || true; } | wc -l; }
  before=$(crashers)
  ok=1
  fuzz_once || ok=0
  # Go's fuzzer can stop with "context deadline exceeded" when its time is
  # up mid-minimization, with no failing input: run that target once more.
  # A real failure writes its input under fuzz/testdata and is never retried.
  if [ $ok = 0 ] && [ "$(crashers)" = "$before" ] && grep -q 'context deadline exceeded' "$log"; then
    echo "== fuzz $target: the fuzzer's deadline ended a run with no failing input; once more"
    ok=1
    fuzz_once || ok=0
  fi
  if [ $ok = 0 ]; then
    cat "$log"; rm -f "$log"
    echo "== fuzz $target FAILED" >&2
    exit 1
  fi
  grep -E 'execs/sec|elapsed' "$log" | tail -1 || true
  rm -f "$log"
done
echo "== all tests passed"

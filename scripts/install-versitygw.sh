#!/usr/bin/env bash
# Installs versitygw (Apache-2.0), the S3-compatible server the s3src
# integration tests start on 127.0.0.1, into $(go env GOPATH)/bin.
# Idempotent: a quick no-op when the pinned version is already there.
# The Go build cache keeps a rebuild after a clean GOPATH cheap.
set -euo pipefail

VERSION=${VERSITYGW_VERSION:-v1.8.0}
command -v go >/dev/null || { echo "install-versitygw: Go is required" >&2; exit 1; }

bin="$(go env GOPATH)/bin"
exe="$bin/versitygw"
stamp="$bin/.versitygw-version"

if [ -x "$exe" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$VERSION" ]; then
  exit 0
fi

echo "install-versitygw: installing versitygw $VERSION into $bin" >&2
# Build with whatever toolchain the module asks for (the local one is newer
# than versitygw's minimum); outside any module so our go.mod is untouched.
(cd / && GOFLAGS=-buildvcs=false GO111MODULE=on go install "github.com/versity/versitygw/cmd/versitygw@$VERSION")
"$exe" --version >/dev/null 2>&1 || "$exe" --help >/dev/null 2>&1 || {
  echo "install-versitygw: $exe does not run" >&2; exit 1; }
echo "$VERSION" >"$stamp"

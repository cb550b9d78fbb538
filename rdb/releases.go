package rdb

import "fmt"

// Release is a line of server releases and the RDB format it writes,
// which is also the newest format it loads.
type Release struct {
	Valkey       bool
	Major, Minor int
	Target       Target
}

// Name is the release line's name as ParseTarget takes it: "redis-7.0".
func (r Release) Name() string {
	server := "redis"
	if r.Valkey {
		server = "valkey"
	}
	return fmt.Sprintf("%s-%d.%d", server, r.Major, r.Minor)
}

// releases is the one table of which server release writes which RDB
// version, oldest first within each server. Adding a format version is a
// line here (and its constant in MaxRedisVersion / MaxValkeyVersion).
var releases = []Release{
	{false, 2, 8, Target{DialectRedis, 6}},
	{false, 3, 0, Target{DialectRedis, 6}},
	{false, 3, 2, Target{DialectRedis, 7}},
	{false, 4, 0, Target{DialectRedis, 8}},
	{false, 5, 0, Target{DialectRedis, 9}},
	{false, 6, 0, Target{DialectRedis, 9}},
	{false, 6, 2, Target{DialectRedis, 9}},
	{false, 7, 0, Target{DialectRedis, 10}},
	{false, 7, 2, Target{DialectRedis, 11}},
	{false, 7, 4, Target{DialectRedis, 12}},
	{false, 8, 0, Target{DialectRedis, 12}},
	{false, 8, 2, Target{DialectRedis, 12}},
	{false, 8, 4, Target{DialectRedis, 12}},
	{false, 8, 6, Target{DialectRedis, 13}},
	{true, 7, 2, Target{DialectRedis, 11}},
	{true, 8, 0, Target{DialectRedis, 11}},
	{true, 8, 1, Target{DialectRedis, 11}},
	{true, 9, 0, Target{DialectValkey, 80}},
}

// Releases lists the release lines this package knows, oldest first
// within each server.
func Releases() []Release { return append([]Release(nil), releases...) }

// ReleaseFor returns the release line of a server version: the newest
// known line not newer than major.minor (a release newer than any known
// is taken as the newest known; one older than any, as the oldest).
func ReleaseFor(valkey bool, major, minor int) Release {
	var found, first Release
	ok := false
	for _, r := range releases {
		if r.Valkey != valkey {
			continue
		}
		if first.Major == 0 {
			first = r
		}
		if r.Major < major || (r.Major == major && r.Minor <= minor) {
			found, ok = r, true
		}
	}
	if !ok {
		return first
	}
	return found
}

// ReleaseOf returns the oldest release line that writes t: the best guess
// of the server that wrote a file that does not say (files before RDB 7
// carry no redis-ver aux field).
func ReleaseOf(t Target) Release {
	for _, r := range releases {
		if r.Target == t {
			return r
		}
	}
	if t.Dialect == DialectValkey {
		return releases[len(releases)-1]
	}
	for i := len(releases) - 1; i >= 0; i-- {
		if !releases[i].Valkey && releases[i].Target.Version <= t.Version {
			return releases[i]
		}
	}
	return releases[0]
}

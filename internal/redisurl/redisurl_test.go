package redisurl

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		url                  string
		network, addr        string
		user, password, name string
		db                   int
		hasDB, tls           bool
	}{
		{"127.0.0.1:7000", "tcp", "127.0.0.1:7000", "", "", "redis://127.0.0.1:7000", 0, false, false},
		{"redis://u:p@h:1/3", "tcp", "h:1", "u", "p", "redis://u:xxxxx@h:1/3", 3, true, false},
		{"redis://secret@h", "tcp", "h:6379", "", "secret", "redis://xxxxx@h", 0, false, false},
		{"valkeys://h:2?tls-insecure=1", "tcp", "h:2", "", "", "valkeys://h:2", 0, false, true},
		{"redis:///2", "tcp", "127.0.0.1:6379", "", "", "redis:///2", 2, true, false},
		{"unix:///tmp/r.sock?db=4", "unix", "/tmp/r.sock", "", "", "unix:///tmp/r.sock", 4, true, false},
	} {
		ep, err := Parse(c.url, Options{})
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if ep.Network != c.network || ep.Addr != c.addr || ep.Username != c.user || ep.Password != c.password ||
			ep.Name != c.name || ep.DB != c.db || ep.HasDB != c.hasDB || (ep.TLS != nil) != c.tls {
			t.Errorf("%s: got %+v", c.url, *ep)
		}
		if ro := ep.RedisOptions(); ro.Addr != c.addr || ro.DB != c.db || ro.Password != c.password {
			t.Errorf("%s: go-redis options %s db %d", c.url, ro.Addr, ro.DB)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for url, want := range map[string]string{
		"http://h":                    "unsupported scheme",
		"redis://h/x":                 "not a number",
		"redis://h?bogus_option=1":    "bogus_option",
		"rediss://:pw@h?tls-ca=/none": "TLS CA",
	} {
		_, err := Parse(url, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error shows the password: %v", url, err)
		}
	}
}

func TestOptionsWinOverURL(t *testing.T) {
	ep, err := Parse("redis://u:p@h", Options{Username: "admin", Password: "s3", TLS: TLS{Insecure: true, CAFile: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Username != "admin" || ep.Password != "s3" || ep.TLS != nil {
		t.Errorf("got user %q password %q tls %v", ep.Username, ep.Password, ep.TLS != nil)
	}
}

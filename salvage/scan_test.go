package salvage

import (
	"bytes"
	"math/rand"
	"os"
	"testing"
)

func TestIntactCorpusIsClean(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		keys := readKeys(t, data)
		res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{Name: f.Name})
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if !res.Clean() {
			for _, p := range res.Problems {
				t.Errorf("%s: %s", f.Name, p)
			}
		}
		if res.Keys != int64(len(keys)) {
			t.Errorf("%s: %d keys, reader sees %d", f.Name, res.Keys, len(keys))
		}
		out, sres := salvageBytes(t, data, Options{})
		if out == nil || sres.Keys != int64(len(keys)) {
			t.Errorf("%s: salvage of an intact file lost keys", f.Name)
		}
		got := readKeys(t, out)
		for k, o := range keys {
			if got[k].raw != o.raw {
				t.Errorf("%s: key %q differs after salvage", f.Name, k)
			}
		}
	}
}

func TestDamagedCorpus(t *testing.T) {
	files := corpusFiles(t)
	rng := rand.New(rand.NewSource(1))
	trials := 3
	if os.Getenv("RDBTOOL_SALVAGE_LONG") != "" {
		trials = 10
	}
	for _, dmg := range damages {
		var st trialStats
		for _, f := range files {
			data, err := os.ReadFile(f.RDB)
			if err != nil {
				t.Fatal(err)
			}
			keys := readKeys(t, data)
			for i := 0; i < trials; i++ {
				measure(t, f.RDB, data, keys, dmg, rng, &st)
			}
		}
		t.Logf("%-9s %d trials: recovered %d of %d keys outside the damage (%.2f%%); wrong %d, extra %d, unloadable %d, missed %d, undetectable (no checksum) %d",
			dmg.name, st.trials, st.recovered, st.outside, 100*st.share(), st.wrong, st.extra, st.unloadable, st.missed, st.undetectable)
		// These files hold about 100 keys, so each key dropped next to a
		// damaged range weighs 1%, and most hold one database, whose count
		// is too small to prove that no database selection was lost in a
		// 4 KiB range: keys after it are then not recovered. The 99% target
		// is measured on the benchmark file by TestLongSmallRDB.
		if st.share() < 0.80 {
			t.Errorf("%s: recovered %.2f%% of the keys outside the damage, want >= 80%%", dmg.name, 100*st.share())
		}
		// Nothing recovered is a guess: every key written is the original
		// record, in its original database.
		if st.wrong+st.extra > 0 {
			t.Errorf("%s: %d wrong and %d invented keys among %d recovered", dmg.name, st.wrong, st.extra, st.recovered)
		}
	}
}

package jobjournal_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/jobjournal"
)

func readAll(t *testing.T, dir string) (recs []jobjournal.Record, torn bool) {
	t.Helper()
	segs, err := jobjournal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		tr, err := jobjournal.ReadSegment(s.Path, func(r jobjournal.Record) error {
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		torn = torn || tr
	}
	return recs, torn
}

// TestGroupCommit syncs records from many writers at once: every record
// is read back, and the writers shared fsyncs.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := jobjournal.Open(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq := j.Append(jobjournal.Enqueue, "default", fmt.Sprintf("w%d-%d", w, i), []byte("payload"))
				if err := j.Sync(seq); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	recs, torn := readAll(t, dir)
	if len(recs) != writers*each || torn {
		t.Fatalf("read %d records (torn %v), want %d", len(recs), torn, writers*each)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.Queue != "default" || string(r.Data) != "payload" {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if s := j.Syncs(); s >= writers*each {
		t.Fatalf("%d fsyncs for %d records: no group commit", s, writers*each)
	}
}

// TestTornTailAndRotation cuts the last record of a segment short, as a
// crash mid-write would: the records before it are read, the cut one is
// not. Rotation starts a new segment, and RemoveBefore drops the old.
func TestTornTailAndRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := jobjournal.Open(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := j.Sync(j.Append(jobjournal.Done, "q", fmt.Sprint(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := j.Rotate()
	if err != nil || first != 10 {
		t.Fatalf("rotate: %d %v", first, err)
	}
	if err := j.Sync(j.Append(jobjournal.Delete, "q", "x", []byte("0123456789"))); err != nil {
		t.Fatal(err)
	}
	j.Close()
	segs, _ := jobjournal.Segments(dir)
	if len(segs) != 2 || segs[0].First != 7 || segs[1].First != 10 {
		t.Fatalf("segments %+v", segs)
	}
	fi, _ := os.Stat(segs[1].Path)
	if err := os.Truncate(segs[1].Path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	recs, torn := readAll(t, dir)
	if len(recs) != 3 || !torn || recs[2].Seq != 9 || recs[2].End != recs[2].Offset+int64(len("2"))+8+9+2+1 {
		t.Fatalf("read %+v torn=%v", recs, torn)
	}
	if err := jobjournal.RemoveBefore(dir, 10); err != nil {
		t.Fatal(err)
	}
	if segs, _ := jobjournal.Segments(dir); len(segs) != 1 || segs[0].First != 10 {
		t.Fatalf("after RemoveBefore: %+v", segs)
	}
}

package jobjournal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Prefix is the name of the segment files in the data dir, before the
// first sequence number they hold: "jobs.journal.00000000000000000001".
const Prefix = "jobs.journal."

// Journal appends records to the newest segment of a directory.
type Journal struct {
	dir string

	mu   sync.Mutex
	cond *sync.Cond
	f    *os.File
	// pending holds the frames appended and not yet written; spare is the
	// buffer the last write emptied, reused for the next batch.
	pending, spare []byte
	next           uint64 // seq of the next record
	written        uint64 // the last seq written to the file
	synced         uint64 // the last seq written and fsync'd
	wantSync       uint64 // the last seq a caller waits to see fsync'd
	busy           bool   // a caller is writing (and maybe syncing) a batch
	err            error  // the first write or sync error; the journal stops there
	syncs          uint64 // fsyncs done, for the statistics
}

// Open starts a new segment in dir whose first record gets seq first
// (1 or more). Existing segments are left as they are: read them before,
// with Segments and ReadSegment.
func Open(dir string, first uint64) (*Journal, error) {
	if first == 0 {
		first = 1
	}
	j := &Journal{dir: dir, next: first, written: first - 1, synced: first - 1}
	j.cond = sync.NewCond(&j.mu)
	f, err := j.create(first)
	if err != nil {
		return nil, err
	}
	j.f = f
	return j, nil
}

// SegmentName returns the file name of the segment starting at first.
func SegmentName(first uint64) string {
	return fmt.Sprintf("%s%020d", Prefix, first)
}

func (j *Journal) create(first uint64) (*os.File, error) {
	path := filepath.Join(j.dir, SegmentName(first))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// The new name must survive a power cut as well as what is written
	// to it.
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Append adds a record (its Seq is set here) and returns its seq. The
// record is in memory only: Write or Sync it.
func (j *Journal) Append(kind Kind, queue, id string, data []byte) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	seq := j.next
	j.next++
	j.pending = appendFrame(j.pending, &Record{Seq: seq, Kind: kind, Queue: queue, ID: id, Data: data})
	return seq
}

// Sync returns once the record seq (and every one before it) is written
// and fsync'd: it survives a crash of the process and a power cut.
// Callers that wait at the same time share one write and one fsync.
func (j *Journal) Sync(seq uint64) error { return j.wait(seq, true) }

// Write returns once the record seq is written to the file: it survives a
// crash of the process, and a power cut once a later Sync is done.
func (j *Journal) Write(seq uint64) error { return j.wait(seq, false) }

func (j *Journal) wait(seq uint64, durable bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if durable && seq > j.wantSync {
		j.wantSync = seq
	}
	for {
		switch {
		case j.err != nil:
			return j.err
		case durable && j.synced >= seq, !durable && j.written >= seq:
			return nil
		case j.busy:
			j.cond.Wait()
			continue
		}
		j.flushLocked()
	}
}

// flushLocked writes the pending frames, and fsyncs if anyone waits for
// that, with j.mu released during the I/O so that others can append
// meanwhile (they form the next batch).
func (j *Journal) flushLocked() {
	j.busy = true
	batch, last := j.pending, j.next-1
	j.pending = j.spare[:0]
	sync := j.wantSync > j.synced
	f := j.f
	j.mu.Unlock()
	var err error
	if len(batch) > 0 {
		_, err = f.Write(batch)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	j.mu.Lock()
	j.busy = false
	if cap(batch) <= 1<<20 {
		j.spare = batch[:0]
	}
	if err != nil {
		j.err = fmt.Errorf("job journal: %w", err)
	} else {
		j.written = last
		if sync {
			j.synced = last
			j.syncs++
		}
	}
	j.cond.Broadcast()
}

// Rotate writes and fsyncs what is pending, then starts a new segment.
// It returns the seq the new segment starts with: every record before it
// is in the older segments, which RemoveBefore can drop once a snapshot
// holds them.
func (j *Journal) Rotate() (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.busy {
		j.cond.Wait()
	}
	if j.err != nil {
		return 0, j.err
	}
	if len(j.pending) > 0 || j.synced < j.next-1 {
		j.wantSync = j.next - 1
		j.flushLocked()
		for j.busy {
			j.cond.Wait()
		}
		if j.err != nil {
			return 0, j.err
		}
	}
	first := j.next
	f, err := j.create(first)
	if err != nil {
		return 0, err
	}
	old := j.f
	j.f = f
	if err := old.Close(); err != nil {
		return 0, err
	}
	return first, nil
}

// Syncs returns how many fsyncs the journal has done.
func (j *Journal) Syncs() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncs
}

// Next returns the seq the next record will get.
func (j *Journal) Next() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next
}

// Close writes and fsyncs what is pending and closes the segment.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.busy {
		j.cond.Wait()
	}
	if j.f == nil {
		return nil
	}
	var err error
	if j.err == nil && (len(j.pending) > 0 || j.synced < j.next-1) {
		j.wantSync = j.next - 1
		j.flushLocked()
		for j.busy {
			j.cond.Wait()
		}
		err = j.err
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	if err == nil {
		j.err = errors.New("job journal: closed")
	}
	return err
}

// Segment is one segment file.
type Segment struct {
	Path  string
	First uint64 // the seq of its first record
}

// Segments lists dir's segments, oldest first.
func Segments(dir string) ([]Segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []Segment
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, Prefix) || e.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimPrefix(name, Prefix), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Segment{Path: filepath.Join(dir, name), First: first})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].First < out[b].First })
	return out, nil
}

// RemoveBefore removes the segments that start before seq, other than
// the one being written: call it with a seq Rotate returned, once a
// snapshot holding every record before it is on disk.
func RemoveBefore(dir string, seq uint64) error {
	segs, err := Segments(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, s := range segs {
		if s.First >= seq {
			break
		}
		if err := os.Remove(s.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

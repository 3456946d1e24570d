package jobjournal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Kind says what a record did to its task.
type Kind byte

// Record kinds.
const (
	// Enqueue: the task was put in the queue; Data is the task as the
	// caller encoded it.
	Enqueue Kind = 'e'
	// Done: the task's handler succeeded.
	Done Kind = 'd'
	// Archive: the task failed for good (or was archived by hand).
	Archive Kind = 'a'
	// Delete: the task was deleted by hand.
	Delete Kind = 'x'
)

// Record is one entry of the journal.
type Record struct {
	Seq   uint64
	Kind  Kind
	Queue string
	ID    string
	Data  []byte

	// Segment, Offset and End locate the record when it was read from a
	// file: the bytes [Offset, End) of Segment.
	Segment string
	Offset  int64
	End     int64
}

// A frame is the body's length (4 bytes), the body's CRC-32C (4 bytes),
// then the body: seq (8 bytes), kind (1), queue and id (each a uvarint
// length and the bytes), and the data (the rest). Lengths and the seq are
// big-endian.
const frameHeader = 8

// maxBody bounds a record, so that a corrupt length cannot make the
// reader allocate gigabytes.
const maxBody = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func appendFrame(dst []byte, r *Record) []byte {
	body := make([]byte, 0, 9+2*binary.MaxVarintLen64+len(r.Queue)+len(r.ID)+len(r.Data))
	body = binary.BigEndian.AppendUint64(body, r.Seq)
	body = append(body, byte(r.Kind))
	body = binary.AppendUvarint(body, uint64(len(r.Queue)))
	body = append(body, r.Queue...)
	body = binary.AppendUvarint(body, uint64(len(r.ID)))
	body = append(body, r.ID...)
	body = append(body, r.Data...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(body, crcTable))
	return append(dst, body...)
}

var errCorrupt = errors.New("corrupt record")

func decodeBody(body []byte) (Record, error) {
	var r Record
	if len(body) < 9 {
		return r, errCorrupt
	}
	r.Seq = binary.BigEndian.Uint64(body)
	r.Kind = Kind(body[8])
	rest := body[9:]
	field := func() (string, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return "", false
		}
		s := string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
		return s, true
	}
	var ok1, ok2 bool
	r.Queue, ok1 = field()
	r.ID, ok2 = field()
	if !ok1 || !ok2 {
		return r, errCorrupt
	}
	r.Data = rest
	return r, nil
}

// ReadSegment calls fn with each record of the segment file at path, in
// order. A record cut short or failing its checksum ends the segment
// there (a crash during a write, or a power cut before its fsync): torn
// is then true and the records before it have been read. An error from
// fn stops the read and is returned.
func ReadSegment(path string, fn func(Record) error) (torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var head [frameHeader]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return true, nil
			}
			return false, err
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n > maxBody {
			return true, nil
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return true, nil
			}
			return false, err
		}
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(head[4:]) {
			return true, nil
		}
		rec, err := decodeBody(body)
		if err != nil {
			return true, nil
		}
		rec.Segment, rec.Offset, rec.End = path, off, off+frameHeader+int64(n)
		off = rec.End
		if err := fn(rec); err != nil {
			return false, fmt.Errorf("%s at %d: %w", path, rec.Offset, err)
		}
	}
}

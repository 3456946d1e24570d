package core

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// snapshotVersion is the format embedded mode writes to
// <data_dir>/jobs.snapshot: a JSON header line (snapshotHeader), then one
// JSON line per key (snapshotKey), so that neither a save nor a restore
// holds the whole file in memory twice, and a restore can say how far it
// is. Version 1, one JSON object with every key, is still read.
const snapshotVersion = 2

// snapshotHeader is the first line of a snapshot.
type snapshotHeader struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"savedAt"`
	// Keys is how many key lines follow.
	Keys int `json:"keys"`
	// JournalSeq is the last journal record whose effect the snapshot
	// holds: a restore replays the records after it.
	JournalSeq uint64 `json:"journalSeq"`
}

// snapshotKey is one key. Keys and values are bytes (base64 in JSON):
// task messages are binary.
type snapshotKey struct {
	Key  []byte `json:"k"`
	Type string `json:"t"`
	// ExpiresAt is when the key expires; nil for none.
	ExpiresAt *time.Time `json:"e,omitempty"`
	// Values: the string; hash fields and values; list items; set members;
	// sorted-set members and scores, alternating.
	Values [][]byte `json:"v"`
}

// memKey is a key as copied out of miniredis while the queue is paused:
// strings share miniredis's memory (Go strings are immutable), so the
// copy costs little; encoding waits until the queue runs again.
type memKey struct {
	key, typ string
	ttl      time.Duration
	vals     []string
}

// copyKeys copies every key of db. The caller pauses every writer first.
func copyKeys(db *miniredis.RedisDB) []memKey {
	keys := db.Keys()
	out := make([]memKey, 0, len(keys))
	for _, key := range keys {
		k := memKey{key: key, typ: db.Type(key), ttl: db.TTL(key)}
		switch k.typ {
		case "string":
			v, _ := db.Get(key)
			k.vals = []string{v}
		case "hash":
			fields, _ := db.HKeys(key)
			k.vals = make([]string, 0, 2*len(fields))
			for _, f := range fields {
				k.vals = append(k.vals, f, db.HGet(key, f))
			}
		case "list":
			l, _ := db.List(key)
			k.vals = slices.Clone(l)
		case "set":
			k.vals, _ = db.Members(key)
		case "zset":
			ss, _ := db.SortedSet(key)
			k.vals = make([]string, 0, 2*len(ss))
			for m, score := range ss {
				k.vals = append(k.vals, m, strconv.FormatFloat(score, 'g', -1, 64))
			}
		default:
			continue // Asynq uses none of the other types
		}
		out = append(out, k)
	}
	return out
}

// writeSnapshot writes keys to path atomically: a synced temporary file
// renamed over the old one, so a crash while saving leaves the previous
// snapshot intact.
func writeSnapshot(path string, keys []memKey, journalSeq uint64, now time.Time) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		if err := enc.Encode(snapshotHeader{Version: snapshotVersion, SavedAt: now, Keys: len(keys), JournalSeq: journalSeq}); err != nil {
			return err
		}
		for _, k := range keys {
			sk := snapshotKey{Key: []byte(k.key), Type: k.typ, Values: make([][]byte, len(k.vals))}
			if k.ttl > 0 {
				at := now.Add(k.ttl)
				sk.ExpiresAt = &at
			}
			for i, v := range k.vals {
				sk.Values[i] = []byte(v)
			}
			if err := enc.Encode(sk); err != nil {
				return err
			}
		}
		return nil
	})
}

// snapshotReader reads a snapshot file key by key.
type snapshotReader struct {
	header snapshotHeader
	dec    *json.Decoder
	legacy []snapshotKey // version 1's keys, all read at once
}

func openSnapshot(r io.Reader) (*snapshotReader, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	var first map[string]json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return nil, fmt.Errorf("corrupt snapshot: %w", err)
	}
	sr := &snapshotReader{dec: dec}
	if err := json.Unmarshal(first["version"], &sr.header.Version); err != nil {
		return nil, fmt.Errorf("corrupt snapshot: no version")
	}
	_ = json.Unmarshal(first["savedAt"], &sr.header.SavedAt)
	switch sr.header.Version {
	case 1:
		if err := json.Unmarshal(first["keys"], &sr.legacy); err != nil {
			return nil, fmt.Errorf("corrupt snapshot: %w", err)
		}
		sr.header.Keys = len(sr.legacy)
	case snapshotVersion:
		_ = json.Unmarshal(first["keys"], &sr.header.Keys)
		_ = json.Unmarshal(first["journalSeq"], &sr.header.JournalSeq)
	default:
		return nil, fmt.Errorf("snapshot version %d is not supported", sr.header.Version)
	}
	return sr, nil
}

// next returns the next key, or io.EOF after the last.
func (sr *snapshotReader) next() (snapshotKey, error) {
	var k snapshotKey
	if sr.header.Version == 1 {
		if len(sr.legacy) == 0 {
			return k, io.EOF
		}
		k, sr.legacy = sr.legacy[0], sr.legacy[1:]
		return k, nil
	}
	err := sr.dec.Decode(&k)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("corrupt snapshot: %w", err)
	}
	return k, err
}

// loadKey writes one snapshot key into db through miniredis's direct API
// (no connection, no protocol). It reports false for a key whose TTL ran
// out while the process was down.
func loadKey(db *miniredis.RedisDB, k snapshotKey, now time.Time) (bool, error) {
	if (k.ExpiresAt != nil && !k.ExpiresAt.After(now)) || len(k.Values) == 0 {
		return false, nil
	}
	key := string(k.Key)
	vals := make([]string, len(k.Values))
	for i, v := range k.Values {
		vals[i] = string(v)
	}
	switch k.Type {
	case "string":
		if err := db.Set(key, vals[0]); err != nil {
			return false, err
		}
	case "hash":
		if len(vals)%2 != 0 {
			return false, fmt.Errorf("key %s: odd hash", key)
		}
		db.HSet(key, vals...)
	case "list":
		if _, err := db.Push(key, vals...); err != nil {
			return false, err
		}
	case "set":
		if _, err := db.SetAdd(key, vals...); err != nil {
			return false, err
		}
	case "zset":
		for i := 0; i+1 < len(vals); i += 2 {
			score, err := strconv.ParseFloat(vals[i+1], 64)
			if err != nil {
				return false, fmt.Errorf("key %s: bad score %q", key, vals[i+1])
			}
			if _, err := db.ZAdd(key, score, vals[i]); err != nil {
				return false, err
			}
		}
	default:
		return false, fmt.Errorf("key %s: unsupported type %q", key, k.Type)
	}
	if k.ExpiresAt != nil {
		db.SetTTL(key, k.ExpiresAt.Sub(now))
	}
	return true, nil
}

// requeueActive puts the tasks a snapshot has as running back at the head
// of their queue's pending list, as Asynq does on a clean shutdown: they
// were running when the queue was saved, and only this process runs the
// data dir's queue, so nothing runs them now. Without this they would wait
// for Asynq's lease recovery (a minute or more) and count a failure.
func requeueActive(db *miniredis.RedisDB, activeKeys []string) int {
	n := 0
	for _, active := range activeKeys {
		prefix := strings.TrimSuffix(active, "active") // "asynq:{q}:"
		ids, _ := db.List(active)
		ids = slices.Clone(ids)
		for _, id := range ids {
			_, _ = db.ZRem(prefix+"lease", id)
			_, _ = db.Push(prefix+"pending", id)
			if db.Exists(prefix + "t:" + id) {
				db.HSet(prefix+"t:"+id, "state", "pending")
			}
			n++
		}
		db.Del(active)
	}
	return n
}

// writeFileAtomic replaces path with what write writes, through a synced
// temporary file and a rename.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return nil
}

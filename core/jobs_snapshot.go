package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// snapshotScript reads every key of the embedded server with its type,
// remaining TTL and contents in one EVAL, so the snapshot is atomic: no
// command runs between its reads. Asynq uses strings, hashes, lists, sets
// and sorted sets; other types are skipped.
const snapshotScript = `
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k)
  if type(t) == 'table' then t = t['ok'] end
  local v = nil
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  end
  if v then table.insert(out, {k, t, redis.call('PTTL', k), v}) end
end
return out`

// snapshotFile is the JSON of <data_dir>/jobs.snapshot. Keys and values are
// bytes (base64 in JSON): task messages are binary.
type snapshotFile struct {
	Version int           `json:"version"`
	SavedAt time.Time     `json:"savedAt"`
	Keys    []snapshotKey `json:"keys"`
}

type snapshotKey struct {
	Key  []byte `json:"k"`
	Type string `json:"t"`
	// ExpiresAt is when the key expires; nil for none.
	ExpiresAt *time.Time `json:"e,omitempty"`
	// Values: the string; hash fields and values; list items; set members;
	// sorted-set members and scores, alternating.
	Values [][]byte `json:"v"`
}

// save writes the whole embedded queue to the snapshot file: first to a
// temporary file, synced, then renamed over the old one, so a crash while
// saving leaves the previous snapshot intact.
func (e *embeddedRedis) save(ctx context.Context, rdb redis.UniversalClient, now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	raw, err := rdb.Eval(ctx, snapshotScript, nil).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read keys: %w", err)
	}
	f := snapshotFile{Version: 1, SavedAt: now, Keys: make([]snapshotKey, 0, len(raw))}
	for _, item := range raw {
		parts, ok := item.([]any)
		if !ok || len(parts) != 4 {
			return fmt.Errorf("unexpected snapshot entry %T", item)
		}
		k := snapshotKey{Key: []byte(fmt.Sprint(parts[0])), Type: fmt.Sprint(parts[1])}
		if ttl, ok := parts[2].(int64); ok && ttl > 0 {
			at := now.Add(time.Duration(ttl) * time.Millisecond)
			k.ExpiresAt = &at
		}
		vals, _ := parts[3].([]any)
		for _, v := range vals {
			k.Values = append(k.Values, []byte(fmt.Sprint(v)))
		}
		f.Keys = append(f.Keys, k)
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(e.snapshot, data); err != nil {
		return err
	}
	e.saved = now
	return nil
}

// restore loads the snapshot file, if any, into the empty embedded server;
// keys whose TTL ran out while the process was down are dropped. It
// returns how many keys it loaded.
func (e *embeddedRedis) restore(ctx context.Context, rdb redis.UniversalClient, now time.Time) (int, error) {
	data, err := os.ReadFile(e.snapshot)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var f snapshotFile
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, fmt.Errorf("corrupt snapshot: %w", err)
	}
	if f.Version != 1 {
		return 0, fmt.Errorf("snapshot version %d is not supported", f.Version)
	}
	n := 0
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range f.Keys {
			if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
				continue
			}
			if err := restoreKey(ctx, p, k); err != nil {
				return err
			}
			if k.ExpiresAt != nil {
				p.PExpire(ctx, string(k.Key), k.ExpiresAt.Sub(now))
			}
			n++
		}
		return nil
	})
	return n, err
}

func restoreKey(ctx context.Context, p redis.Pipeliner, k snapshotKey) error {
	key := string(k.Key)
	vals := make([]any, len(k.Values))
	for i, v := range k.Values {
		vals[i] = string(v)
	}
	if len(vals) == 0 {
		return nil
	}
	switch k.Type {
	case "string":
		p.Set(ctx, key, vals[0], 0)
	case "hash":
		p.HSet(ctx, key, vals...)
	case "list":
		p.RPush(ctx, key, vals...)
	case "set":
		p.SAdd(ctx, key, vals...)
	case "zset":
		members := make([]redis.Z, 0, len(vals)/2)
		for i := 0; i+1 < len(k.Values); i += 2 {
			score, err := strconv.ParseFloat(string(k.Values[i+1]), 64)
			if err != nil {
				return fmt.Errorf("key %s: bad score %q", key, k.Values[i+1])
			}
			members = append(members, redis.Z{Member: string(k.Values[i]), Score: score})
		}
		p.ZAdd(ctx, key, members...)
	default:
		return fmt.Errorf("key %s: unsupported type %q", key, k.Type)
	}
	return nil
}

// writeFileAtomic replaces path with data through a synced temporary file
// and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
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

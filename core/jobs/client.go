package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Client is a connection to the queues kept in one Redis (or the embedded
// server): it enqueues jobs and inspects and changes the queued ones.
type Client struct {
	client *asynq.Client
	insp   *asynq.Inspector
}

// NewClient returns a Client on rdb, which it does not close.
func NewClient(rdb redis.UniversalClient) *Client {
	return &Client{client: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// Close releases the Client (not the Redis client it was opened on).
func (q *Client) Close() {
	_ = q.client.Close()
	_ = q.insp.Close()
}

// Enqueue queues a job of typ with payload and returns its id and queue.
func (q *Client) Enqueue(ctx context.Context, typ string, payload []byte, opts ...Option) (id, queue string, err error) {
	info, err := q.client.EnqueueContext(ctx, asynq.NewTask(typ, payload), opts...)
	if err != nil {
		return "", "", fmt.Errorf("enqueue %s: %w", typ, err)
	}
	return info.ID, info.Queue, nil
}

// TaskKey is the Redis key of a task's hash, for code that reads the
// embedded server's keys directly.
func TaskKey(queue, id string) string {
	var b strings.Builder
	b.WriteString("asynq:{")
	b.WriteString(queue)
	b.WriteString("}:t:")
	b.WriteString(id)
	return b.String()
}

// IsActiveList reports whether key is a queue's list of running tasks
// ("asynq:{<queue>}:active"); the same prefix with "pending", "lease" and
// "t:<id>" names the queue's other keys.
func IsActiveList(key string) bool {
	return strings.HasPrefix(key, "asynq:{") && strings.HasSuffix(key, "}:active")
}

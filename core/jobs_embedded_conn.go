package core

import (
	"context"
	"net"
	"sync"

	"github.com/redis/go-redis/v9"
)

// replyConn is the server's end of an in-process connection to the
// embedded Redis. miniredis writes each reply as soon as it has run the
// command; over a bare net.Pipe, which has no buffer, that write waits for
// the client to read, and a client still writing a pipeline longer than a
// few KB never does: both wait forever (a 10 KB snapshot restore hung
// start-up that way). Here replies go to a queue without bound that a
// goroutine drains into the pipe, so the server always goes on reading
// and any pipeline completes; the client's end stays a net.Pipe, with its
// deadlines. The queue holds at most the replies of one pipeline, which
// the client asked for.
//
// (A buffered pipe library would do for the queue, but not keep the
// client's deadlines; this is its 40 lines.)
type replyConn struct {
	net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []byte
	closed bool
}

func newReplyConn(c net.Conn) *replyConn {
	rc := &replyConn{Conn: c}
	rc.cond = sync.NewCond(&rc.mu)
	go rc.drain()
	return rc
}

// Write queues p and returns at once.
func (c *replyConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.queue = append(c.queue, p...)
	c.cond.Signal()
	return len(p), nil
}

func (c *replyConn) drain() {
	var buf []byte
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		if c.closed {
			c.mu.Unlock()
			return
		}
		buf, c.queue = c.queue, buf[:0]
		c.mu.Unlock()
		if _, err := c.Conn.Write(buf); err != nil {
			// The client is gone; its end's close ends the server's read.
			c.Close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large pipeline's memory
		}
	}
}

// Close drops what is queued and closes the pipe.
func (c *replyConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.cond.Broadcast()
	c.mu.Unlock()
	return c.Conn.Close()
}

// queueGate lets the embedded queue's snapshot pause every command of
// the App's Redis client: each command or pipeline runs under the read
// lock, the snapshot's copy under the write lock. The copy is of memory
// only (miniredis's direct API), so the pause lasts as long as copying
// the queue's keys, not as long as encoding and writing them.
type queueGate struct{ mu sync.RWMutex }

func (g *queueGate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *queueGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		g.mu.RLock()
		defer g.mu.RUnlock()
		return next(ctx, cmd)
	}
}

func (g *queueGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		g.mu.RLock()
		defer g.mu.RUnlock()
		return next(ctx, cmds)
	}
}

package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Username and Password, when Username is set, make AUTH required
	// before MAIL and the only accepted credentials.
	Username string
	Password string
	// StartTLS offers STARTTLS; ImplicitTLS speaks TLS from the first
	// byte. Either uses a self-signed certificate for 127.0.0.1 that
	// ClientTLSConfig trusts.
	StartTLS    bool
	ImplicitTLS bool
	// RejectData, when set, is the reply to the end of DATA instead of
	// "250", e.g. "554 5.7.1 rejected".
	RejectData string
}

// Server is a running fake SMTP server.
type Server struct {
	opts     Options
	ln       net.Listener
	tls      *tls.Config
	roots    *x509.CertPool
	wg       sync.WaitGroup
	mu       sync.Mutex
	messages []*Message
	closed   bool
	conns    map[net.Conn]bool
}

// NewServer starts a server on 127.0.0.1 at a free port; it stops when the
// test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, conns: map[net.Conn]bool{}}
	if opts.StartTLS || opts.ImplicitTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Host returns the address to dial: "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// ClientTLSConfig returns a client configuration that trusts the server's
// certificate.
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: s.Host(), MinVersion: tls.VersionTLS12}
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.messages...)
}

// Last returns the newest accepted message, or nil.
func (s *Server) Last() *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.messages) == 0 {
		return nil
	}
	return s.messages[len(s.messages)-1]
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func (s *Server) keep(m *Message) {
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
}

func (s *Server) forget(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	_ = conn.Close()
}

// session is one client connection.
type session struct {
	s       *Server
	conn    net.Conn
	tp      *textproto.Conn
	isTLS   bool
	user    string
	from    string
	to      []string
	helloed bool
}

func (s *Server) handle(conn net.Conn) {
	defer s.forget(conn)
	_, isTLS := conn.(*tls.Conn)
	ss := &session{s: s, conn: conn, tp: textproto.NewConn(conn), isTLS: isTLS}
	ss.reply("220 127.0.0.1 ESMTP smtptest")
	for {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !ss.command(strings.ToUpper(verb), strings.TrimSpace(arg)) {
			return
		}
	}
}

func (ss *session) reply(lines ...string) {
	for _, l := range lines {
		_ = ss.tp.PrintfLine("%s", l)
	}
}

// command runs one command; false ends the session.
func (ss *session) command(verb, arg string) bool {
	switch verb {
	case "EHLO":
		ss.helloed, ss.from, ss.to = true, "", nil
		ext := []string{"250-127.0.0.1 greets " + arg, "250-8BITMIME"}
		if ss.s.opts.StartTLS && !ss.isTLS {
			ext = append(ext, "250-STARTTLS")
		}
		if ss.s.opts.Username != "" {
			ext = append(ext, "250-AUTH PLAIN LOGIN CRAM-MD5")
		}
		ss.reply(append(ext, "250 HELP")...)
	case "HELO":
		ss.helloed = true
		ss.reply("250 127.0.0.1")
	case "STARTTLS":
		if !ss.s.opts.StartTLS || ss.isTLS {
			ss.reply("502 5.5.1 STARTTLS not offered")
			return true
		}
		ss.reply("220 2.0.0 ready for TLS")
		tlsConn := tls.Server(ss.conn, ss.s.tls)
		if err := tlsConn.Handshake(); err != nil {
			return false
		}
		ss.conn, ss.tp, ss.isTLS, ss.helloed = tlsConn, textproto.NewConn(tlsConn), true, false
	case "AUTH":
		ss.auth(arg)
	case "MAIL":
		switch {
		case !ss.helloed:
			ss.reply("503 5.5.1 say EHLO first")
		case ss.s.opts.Username != "" && ss.user == "":
			ss.reply("530 5.7.0 authentication required")
		default:
			ss.from, ss.to = pathArg(arg, "FROM:"), nil
			ss.reply("250 2.1.0 ok")
		}
	case "RCPT":
		if ss.from == "" {
			ss.reply("503 5.5.1 need MAIL first")
			return true
		}
		ss.to = append(ss.to, pathArg(arg, "TO:"))
		ss.reply("250 2.1.5 ok")
	case "DATA":
		return ss.data()
	case "RSET":
		ss.from, ss.to = "", nil
		ss.reply("250 2.0.0 ok")
	case "NOOP":
		ss.reply("250 2.0.0 ok")
	case "QUIT":
		ss.reply("221 2.0.0 bye")
		return false
	default:
		ss.reply("502 5.5.2 command not implemented")
	}
	return true
}

func (ss *session) data() bool {
	if len(ss.to) == 0 {
		ss.reply("503 5.5.1 need RCPT first")
		return true
	}
	ss.reply("354 end data with <CR><LF>.<CR><LF>")
	raw, err := ss.tp.ReadDotBytes()
	if err != nil {
		return false
	}
	if ss.s.opts.RejectData != "" {
		ss.reply(ss.s.opts.RejectData)
		return true
	}
	ss.s.keep(&Message{From: ss.from, To: ss.to, Data: raw, User: ss.user, TLS: ss.isTLS})
	ss.from, ss.to = "", nil
	ss.reply("250 2.0.0 queued")
	return true
}

// pathArg returns the address of "FROM:<a@b> SIZE=1".
func pathArg(arg, prefix string) string {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return ""
	}
	path, _, _ := strings.Cut(strings.TrimSpace(arg[len(prefix):]), " ")
	return strings.Trim(path, "<>")
}

// Package smtptest runs a minimal SMTP server on 127.0.0.1 for tests: it
// speaks EHLO/HELO, STARTTLS, AUTH (PLAIN, LOGIN, CRAM-MD5), MAIL, RCPT,
// DATA, RSET, NOOP and QUIT, and keeps every message it accepts. It is no
// mail server: it delivers nothing and checks little.
package smtptest

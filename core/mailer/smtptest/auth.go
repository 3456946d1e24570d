package smtptest

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// auth runs AUTH PLAIN, LOGIN or CRAM-MD5 against the configured
// credentials.
func (ss *session) auth(arg string) {
	opts := ss.s.opts
	if opts.Username == "" {
		ss.reply("502 5.5.1 AUTH not offered")
		return
	}
	if ss.user != "" {
		ss.reply("503 5.5.1 already authenticated")
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, ok = "", false
	switch strings.ToUpper(mech) {
	case "PLAIN":
		resp, good := ss.challenge(initial, "")
		if !good {
			return
		}
		parts := strings.Split(string(resp), "\x00")
		if len(parts) == 3 {
			user = parts[1]
			ok = parts[1] == opts.Username && parts[2] == opts.Password
		}
	case "LOGIN":
		name, good := ss.challenge(initial, "Username:")
		if !good {
			return
		}
		pass, good := ss.challenge("", "Password:")
		if !good {
			return
		}
		user = string(name)
		ok = user == opts.Username && string(pass) == opts.Password
	case "CRAM-MD5":
		nonce := fmt.Sprintf("<%d.smtptest@127.0.0.1>", time.Now().UnixNano())
		resp, good := ss.challenge("", nonce)
		if !good {
			return
		}
		name, digest, _ := strings.Cut(string(resp), " ")
		mac := hmac.New(md5.New, []byte(opts.Password))
		mac.Write([]byte(nonce))
		user = name
		ok = name == opts.Username && hmac.Equal([]byte(digest), []byte(hex.EncodeToString(mac.Sum(nil))))
	default:
		ss.reply("504 5.5.4 unrecognized authentication type")
		return
	}
	if !ok {
		ss.reply("535 5.7.8 authentication credentials invalid")
		return
	}
	ss.user = user
	ss.reply("235 2.7.0 authentication successful")
}

// challenge returns the client's decoded answer: initial when the client
// sent one with AUTH, otherwise the line read after "334 base64(prompt)".
func (ss *session) challenge(initial, prompt string) ([]byte, bool) {
	if initial == "" {
		ss.reply("334 " + base64.StdEncoding.EncodeToString([]byte(prompt)))
		line, err := ss.tp.ReadLine()
		if err != nil {
			return nil, false
		}
		initial = line
	}
	if initial == "*" {
		ss.reply("501 5.0.0 authentication cancelled")
		return nil, false
	}
	if initial == "=" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		ss.reply("501 5.5.2 cannot decode response")
		return nil, false
	}
	return b, true
}

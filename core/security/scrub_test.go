package security_test

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core/security"
)

func TestScrubURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"/api/backups/a.zip?token=eyJhbGci.x.y", "/api/backups/a.zip?token=[redacted]"},
		{"/api/files/c/r/f.png?thumb=100x100&token=abc&download=1", "/api/files/c/r/f.png?thumb=100x100&token=[redacted]&download=1"},
		{"/api/oauth2-redirect?code=4/0Ab&state=xyz", "/api/oauth2-redirect?code=[redacted]&state=xyz"},
		{"/x?TOKEN=a&Access_Token=b&apiKey=c&X-Amz-Signature=d&password=e&otp=f&sessionId=g", "/x?TOKEN=[redacted]&Access_Token=[redacted]&apiKey=[redacted]&X-Amz-Signature=[redacted]&password=[redacted]&otp=[redacted]&sessionId=[redacted]"},
		{"/x?%74oken=a&to%6Ben=b", "/x?%74oken=[redacted]&to%6Ben=[redacted]"},
		{"/x?token=a&token=b", "/x?token=[redacted]&token=[redacted]"},
		{"/x?filter=(title='a')&sort=-created&page=2", "/x?filter=(title='a')&sort=-created&page=2"},
		{"/x?token", "/x?token"},
		{"/x?token=", "/x?token=[redacted]"},
		{"https://a.example/p?token=a#frag", "https://a.example/p?token=[redacted]#frag"},
		{"GET /api/x?secret=1", "GET /api/x?secret=[redacted]"},
		{"/no/query", "/no/query"},
		{"/x?token=[redacted]", "/x?token=[redacted]"},
	} {
		if got := security.ScrubURL(c.in); got != c.want {
			t.Errorf("ScrubURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

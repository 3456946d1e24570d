package apis_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
)

// TestSettingsTestsDoNotEchoRemotes replays finding 10 of issue 15: the
// S3 and email tests returned the remote's raw error text, so whoever may
// edit the settings could point them at any internal address and read
// what answered there (a banner, an error page, "connection refused").
// The answers are now PocketBase's generic 400s, the same whatever the
// remote said; the detail goes to the log.
func TestSettingsTestsDoNotEchoRemotes(t *testing.T) {
	t.Parallel()
	const banner = "INTERNAL-ADMIN-7f3a"
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>%s welcomes you</Message></Error>`, banner)
	}))
	t.Cleanup(internal.Close)
	relay := smtptest.NewServer(t, smtptest.Options{RejectData: "554 5.7.1 " + banner + " relay says no"})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	e := newEnv(t, coretest.NewApp(t, coretest.WithRealMailer()))
	s3 := func(endpoint string) string {
		return `{"s3":{"enabled":true,"bucket":"uploads","region":"us-east-1","endpoint":"` + endpoint + `","accessKey":"a","secret":"s","forcePathStyle":true}}`
	}
	smtp := func(port int) string {
		return fmt.Sprintf(`{"smtp":{"enabled":true,"host":"127.0.0.1","port":%d}}`, port)
	}
	const s3Failed = `{"data":{},"message":"Failed to test the S3 filesystem.","status":400}`
	const mailFailed = `{"data":{},"message":"Failed to send the test email.","status":400}`
	var bodies []string
	keep := func(t *testing.T, rec *httptest.ResponseRecorder) { bodies = append(bodies, rec.Body.String()) }
	testS3 := scenario{name: "test s3", method: "POST", path: "/api/settings/test/s3", token: "superuser",
		body: `{"filesystem":"storage"}`, wantStatus: 400, wantContent: []string{s3Failed}, check: keep}
	testMail := scenario{name: "test email", method: "POST", path: "/api/settings/test/email", token: "superuser",
		body: `{"email":"a@example.com","template":"verification"}`, wantStatus: 400, wantContent: []string{mailFailed}, check: keep}
	patch := func(body string) scenario {
		return scenario{name: "settings", method: "PATCH", path: "/api/settings", token: "superuser", body: body, wantStatus: 200}
	}
	e.run(t, []scenario{
		patch(s3(internal.URL)), testS3,
		patch(s3(fmt.Sprintf("http://127.0.0.1:%d", closedPort))), testS3,
		patch(smtp(relay.Port())), testMail,
		patch(smtp(closedPort)), testMail,
	})
	for _, b := range bodies {
		for _, leak := range []string{banner, "refused", "AccessDenied", "127.0.0.1", "Raw error"} {
			if strings.Contains(b, leak) {
				t.Errorf("an answer carries %q: %s", leak, b)
			}
		}
	}
}

package apis_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestAuthCollectionFlows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"users","type":"auth","createRule":"","listRule":"id = @request.auth.id",
		"viewRule":"@request.auth.id != ''","updateRule":"id = @request.auth.id","fields":[{"name":"name","type":"text"}]}`)
	mustCollection(t, e.app, `{"name":"members","type":"auth","createRule":""}`)
	mustCollection(t, e.app, `{"name":"notes","listRule":"owner = @request.auth.id","createRule":"@request.auth.collectionName = 'users' && owner = @request.auth.id",
		"fields":[{"name":"owner","type":"relation","collectionId":"users"},{"name":"text","type":"text"}]}`)

	var userID, userToken, memberToken string
	grab := func(id, token *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			var body struct {
				Token  string         `json:"token"`
				Record map[string]any `json:"record"`
				ID     string         `json:"id"`
			}
			json.Unmarshal(rec.Body.Bytes(), &body)
			if id != nil {
				*id = body.ID
				if body.Record != nil {
					*id, _ = body.Record["id"].(string)
				}
			}
			if token != nil {
				*token = body.Token
			}
		}
	}
	e.run(t, []scenario{
		{name: "sign up", method: "POST", path: "/api/collections/users/records",
			body:       `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345","name":"Ann"}`,
			wantStatus: 200, wantContent: []string{`"name":"Ann"`, `"verified":false`}, notContent: []string{`"password"`, `"tokenKey"`, `"email"`},
			check: grab(&userID, nil)},
		{name: "sign up mismatch", method: "POST", path: "/api/collections/users/records",
			body:       `{"email":"bob@example.com","password":"Secret12345","passwordConfirm":"nope"}`,
			wantStatus: 400, wantContent: []string{`"passwordConfirm":{"code":"validation_values_mismatch"`}},
		{name: "sign up verified refused", method: "POST", path: "/api/collections/users/records",
			body:       `{"email":"eve@example.com","password":"Secret12345","passwordConfirm":"Secret12345","verified":true}`,
			wantStatus: 400, wantContent: []string{`"verified":{`}},
		{name: "auth methods", path: "/api/collections/users/auth-methods", wantStatus: 200,
			wantContent: []string{`"password":{"enabled":true,"identityFields":["email"]}`}},
		{name: "auth methods of a base collection", path: "/api/collections/notes/auth-methods", wantStatus: 404},
		{name: "member sign up", method: "POST", path: "/api/collections/members/records",
			body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "sign in", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ANN@example.com","password":"Secret12345"}`, wantStatus: 200,
			wantContent: []string{`"token":"`, `"email":"ann@example.com"`, `"collectionName":"users"`}, notContent: []string{`"password"`, `"tokenKey"`},
			check: grab(nil, &userToken)},
		{name: "member sign in", method: "POST", path: "/api/collections/members/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, wantStatus: 200, check: grab(nil, &memberToken)},
		{name: "wrong password", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"nope"}`, wantStatus: 400, wantContent: []string{"Failed to authenticate."}},
	})
	e.run(t, []scenario{
		{name: "rules see the user", path: "/api/collections/users/records", token: userToken, wantStatus: 200,
			wantContent: []string{`"totalItems":1`, `"email":"ann@example.com"`}},
		{name: "guest list is empty", path: "/api/collections/users/records", wantStatus: 200, wantContent: []string{`"totalItems":0`}},
		{name: "create note as owner", method: "POST", path: "/api/collections/notes/records", token: userToken,
			body: `{"owner":"` + userID + `","text":"mine"}`, wantStatus: 200},
		{name: "member cannot create notes", method: "POST", path: "/api/collections/notes/records", token: memberToken,
			body: `{"owner":"` + userID + `","text":"x"}`, wantStatus: 400},
		{name: "refresh", method: "POST", path: "/api/collections/users/auth-refresh", token: userToken, wantStatus: 200, wantContent: []string{`"token":"`}},
		{name: "refresh with another collection's token", method: "POST", path: "/api/collections/users/auth-refresh", token: memberToken,
			wantStatus: 403, wantContent: []string{"The request requires auth record from members collection."}},
		{name: "email change refused", method: "PATCH", path: "/api/collections/users/records/" + userID, token: userToken,
			body: `{"email":"new@example.com"}`, wantStatus: 400, wantContent: []string{`"email":{`}},
		{name: "password change needs oldPassword", method: "PATCH", path: "/api/collections/users/records/" + userID, token: userToken,
			body: `{"password":"Changed12345","passwordConfirm":"Changed12345"}`, wantStatus: 400, wantContent: []string{`"oldPassword":{"code":"validation_invalid_old_password"`}},
		{name: "impersonate needs a superuser", method: "POST", path: "/api/collections/users/impersonate/" + userID, token: userToken, wantStatus: 403},
		{name: "impersonate", method: "POST", path: "/api/collections/users/impersonate/" + userID, token: "superuser",
			body: `{"duration":60}`, wantStatus: 200, wantContent: []string{`"email":"ann@example.com"`}},
	})
	e.run(t, []scenario{
		{name: "password change with oldPassword", method: "PATCH", path: "/api/collections/users/records/" + userID, token: userToken,
			body: `{"oldPassword":"Secret12345","password":"Changed12345","passwordConfirm":"Changed12345"}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "old token revoked by the password change", path: "/api/collections/users/records", token: userToken, wantStatus: 200,
			wantContent: []string{`"totalItems":0`}},
		{name: "refresh with the revoked token", method: "POST", path: "/api/collections/users/auth-refresh", token: userToken, wantStatus: 401},
		{name: "new password works", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Changed12345"}`, wantStatus: 200},
	})
}

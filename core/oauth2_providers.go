package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// AuthUser is an OAuth2 user as every provider is mapped to: the id the
// provider knows them by, their profile and the raw user-info document.
type AuthUser struct {
	ID        string
	Name      string
	Username  string
	Email     string
	AvatarURL string
	// EmailVerified reports that the provider vouches for Email.
	EmailVerified bool
	Raw           map[string]any
}

// oauth2ProviderDef is a built-in provider: its default endpoints and how
// its user info reads.
type oauth2ProviderDef struct {
	displayName                    string
	authURL, tokenURL, userInfoURL string
	scopes                         []string
	pkce                           bool
	// authParams are added to the authorization URL.
	authParams map[string]string
	// issuer and jwksURL verify the id_token of OpenID Connect providers;
	// generic slots read them from extra.issuers and extra.jwksURL.
	issuer, jwksURL string
	// idTokenOnly providers have no user-info endpoint: the verified
	// id_token is the user.
	idTokenOnly bool
	mapUser     func(raw map[string]any) AuthUser
	// enrich may ask the provider for more (GitHub's verified emails).
	enrich func(ctx context.Context, client *http.Client, u *AuthUser) error
}

// OAuth2ProviderNames lists the providers an auth collection can enable.
func OAuth2ProviderNames() []string {
	return []string{"apple", "discord", "github", "gitlab", "google", "microsoft", "oidc", "oidc2", "oidc3"}
}

// isGenericOIDC reports the configurable OpenID Connect slots, whose
// endpoints the collection options must give.
func isGenericOIDC(name string) bool { return name == "oidc" || name == "oidc2" || name == "oidc3" }

// builtinOAuth2Provider returns the definition of a provider by name.
func builtinOAuth2Provider(name string) (oauth2ProviderDef, bool) {
	switch name {
	case "google":
		return oauth2ProviderDef{displayName: "Google", pkce: true,
			authURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
			userInfoURL: "https://www.googleapis.com/oauth2/v3/userinfo",
			scopes:      []string{"https://www.googleapis.com/auth/userinfo.profile", "https://www.googleapis.com/auth/userinfo.email"},
			mapUser:     mapOIDCUser}, true
	case "github":
		return oauth2ProviderDef{displayName: "GitHub", pkce: true,
			authURL: "https://github.com/login/oauth/authorize", tokenURL: "https://github.com/login/oauth/access_token",
			userInfoURL: "https://api.github.com/user", scopes: []string{"read:user", "user:email"},
			mapUser: func(raw map[string]any) AuthUser {
				return AuthUser{ID: claimString(raw["id"]), Name: claimString(raw["name"]), Username: claimString(raw["login"]),
					Email: claimString(raw["email"]), AvatarURL: claimString(raw["avatar_url"])}
			},
			enrich: githubEmails}, true
	case "gitlab":
		return oauth2ProviderDef{displayName: "GitLab", pkce: true,
			authURL: "https://gitlab.com/oauth/authorize", tokenURL: "https://gitlab.com/oauth/token",
			userInfoURL: "https://gitlab.com/api/v4/user", scopes: []string{"read_user"},
			mapUser: func(raw map[string]any) AuthUser {
				// GitLab returns only the primary email, which it has confirmed.
				return AuthUser{ID: claimString(raw["id"]), Name: claimString(raw["name"]), Username: claimString(raw["username"]),
					Email: claimString(raw["email"]), AvatarURL: claimString(raw["avatar_url"]), EmailVerified: claimString(raw["email"]) != ""}
			}}, true
	case "microsoft":
		return oauth2ProviderDef{displayName: "Microsoft", pkce: true,
			authURL:     "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			tokenURL:    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			userInfoURL: "https://graph.microsoft.com/v1.0/me", scopes: []string{"User.Read"},
			mapUser: func(raw map[string]any) AuthUser {
				// Microsoft accounts may carry addresses nobody confirmed.
				return AuthUser{ID: claimString(raw["id"]), Name: claimString(raw["displayName"]), Email: claimString(raw["mail"])}
			}}, true
	case "discord":
		return oauth2ProviderDef{displayName: "Discord", pkce: true,
			authURL: "https://discord.com/api/oauth2/authorize", tokenURL: "https://discord.com/api/oauth2/token",
			userInfoURL: "https://discord.com/api/users/@me", scopes: []string{"identify", "email"},
			mapUser: func(raw map[string]any) AuthUser {
				u := AuthUser{ID: claimString(raw["id"]), Name: claimString(raw["global_name"]), Username: claimString(raw["username"]),
					Email: claimString(raw["email"]), EmailVerified: claimBool(raw["verified"])}
				if avatar := claimString(raw["avatar"]); avatar != "" {
					u.AvatarURL = fmt.Sprintf("https://cdn.discordapp.com/avatars/%s/%s.png", u.ID, avatar)
				}
				return u
			}}, true
	case "apple":
		return oauth2ProviderDef{displayName: "Apple", pkce: true,
			authURL: "https://appleid.apple.com/auth/authorize", tokenURL: "https://appleid.apple.com/auth/token",
			scopes: []string{"name", "email"}, authParams: map[string]string{"response_mode": "form_post"},
			issuer: "https://appleid.apple.com", jwksURL: "https://appleid.apple.com/auth/keys", idTokenOnly: true,
			mapUser: mapOIDCUser}, true
	case "oidc", "oidc2", "oidc3":
		return oauth2ProviderDef{displayName: "OIDC", pkce: true,
			scopes: []string{"openid", "email", "profile"}, mapUser: mapOIDCUser}, true
	}
	return oauth2ProviderDef{}, false
}

// mapOIDCUser reads the standard OpenID Connect claims.
func mapOIDCUser(raw map[string]any) AuthUser {
	return AuthUser{ID: claimString(raw["sub"]), Name: claimString(raw["name"]), Username: claimString(raw["preferred_username"]),
		Email: claimString(raw["email"]), AvatarURL: claimString(raw["picture"]), EmailVerified: claimBool(raw["email_verified"])}
}

// githubEmails replaces the profile's email with the primary verified one:
// the profile shows only a public address, which GitHub does not vouch for.
func githubEmails(ctx context.Context, client *http.Client, u *AuthUser) error {
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, client, "https://api.github.com/user/emails", &emails); err != nil {
		return nil // the scope may be missing: keep the unverified profile email
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			u.Email, u.EmailVerified = e.Email, true
		}
	}
	return nil
}

// oauth2Provider is a provider as one collection configures it.
type oauth2Provider struct {
	name        string
	def         oauth2ProviderDef
	config      oauth2.Config
	userInfoURL string
	pkce        bool
	issuers     []string
	jwksURL     string
}

// newOAuth2Provider merges a collection's provider settings over the
// built-in defaults; secret is the decrypted client secret.
func newOAuth2Provider(p OAuth2ProviderConfig, secret string) (*oauth2Provider, error) {
	def, ok := builtinOAuth2Provider(p.Name)
	if !ok {
		return nil, fmt.Errorf("unknown oauth2 provider %q", p.Name)
	}
	out := &oauth2Provider{name: p.Name, def: def, pkce: def.pkce, userInfoURL: orDefault(p.UserInfoURL, def.userInfoURL), jwksURL: def.jwksURL}
	if def.issuer != "" {
		out.issuers = []string{def.issuer}
	}
	if p.PKCE != nil {
		out.pkce = *p.PKCE
	}
	if v := claimString(p.Extra["jwksURL"]); v != "" {
		out.jwksURL = v
	}
	if list, ok := p.Extra["issuers"].([]any); ok {
		out.issuers = nil
		for _, v := range list {
			if s := claimString(v); s != "" {
				out.issuers = append(out.issuers, s)
			}
		}
	}
	out.config = oauth2.Config{
		ClientID: p.ClientID, ClientSecret: secret, Scopes: def.scopes,
		Endpoint: oauth2.Endpoint{AuthURL: orDefault(p.AuthURL, def.authURL), TokenURL: orDefault(p.TokenURL, def.tokenURL)},
	}
	return out, nil
}

// authURL is the authorization URL that auth-methods lists. It ends with
// "redirect_uri=", which clients complete with their redirect URL.
func (p *oauth2Provider) authURL(state, challenge string) string {
	opts := []oauth2.AuthCodeOption{}
	if p.pkce {
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	}
	for k, v := range p.def.authParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return p.config.AuthCodeURL(state, opts...) + "&redirect_uri="
}

// exchange trades the code (and PKCE verifier) for a token at the token URL.
func (p *oauth2Provider) exchange(ctx context.Context, code, verifier, redirectURL string) (*oauth2.Token, error) {
	cfg := p.config
	cfg.RedirectURL = redirectURL
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	return cfg.Exchange(ctx, code, opts...)
}

// fetchUser reads the user behind token: the verified id_token's claims
// (when the provider signs one) overlaid with the user-info document.
func (p *oauth2Provider) fetchUser(ctx context.Context, token *oauth2.Token, now func() time.Time) (*AuthUser, error) {
	raw := map[string]any{}
	idToken, _ := token.Extra("id_token").(string)
	switch {
	case p.jwksURL != "" && idToken != "":
		claims, err := p.verifyIDToken(ctx, idToken, now)
		if err != nil {
			return nil, err
		}
		maps.Copy(raw, claims)
	case p.def.idTokenOnly:
		return nil, fmt.Errorf("%s: token response without id_token", p.name)
	}
	client := p.config.Client(ctx, token)
	if p.userInfoURL != "" && !p.def.idTokenOnly {
		info := map[string]any{}
		if err := getJSON(ctx, client, p.userInfoURL, &info); err != nil {
			return nil, err
		}
		if sub, ok := raw["sub"]; ok && info["sub"] != nil && claimString(info["sub"]) != claimString(sub) {
			return nil, fmt.Errorf("%s: user info subject differs from the id_token's", p.name)
		}
		maps.Copy(raw, info)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: neither user info nor a verifiable id_token", p.name)
	}
	u := p.def.mapUser(raw)
	u.Raw = raw
	if p.def.enrich != nil {
		if err := p.def.enrich(ctx, client, &u); err != nil {
			return nil, err
		}
	}
	if u.ID == "" {
		return nil, fmt.Errorf("%s: user without an id", p.name)
	}
	return &u, nil
}

// verifyIDToken checks an id_token's signature against the provider's
// JWKS, its audience (the client id), expiry and issuer.
func (p *oauth2Provider) verifyIDToken(ctx context.Context, raw string, now func() time.Time) (map[string]any, error) {
	keys := oidc.NewRemoteKeySet(ctx, p.jwksURL)
	verifier := oidc.NewVerifier("", keys, &oidc.Config{ClientID: p.config.ClientID, SkipIssuerCheck: true, Now: now})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if len(p.issuers) > 0 && !slices.Contains(p.issuers, tok.Issuer) {
		return nil, fmt.Errorf("id_token issuer %q not accepted", tok.Issuer)
	}
	claims := map[string]any{}
	if err := tok.Claims(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// getJSON GETs url with client and decodes a 2xx JSON answer into v,
// numbers kept as written so that numeric ids stay exact.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}

// str reads a JSON value as text: strings as they are, numbers as written.
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// truthy reads a boolean claim that some providers send as a string.
func claimBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

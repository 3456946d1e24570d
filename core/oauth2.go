package core

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core/security"
	"golang.org/x/oauth2"
)

// ExternalAuthsCollectionName is the system collection linking auth
// records to the OAuth2 accounts they sign in with.
const ExternalAuthsCollectionName = "_externalAuths"

// OAuth2Options are an auth collection's "oauth2" options, PocketBase's
// keys.
type OAuth2Options struct {
	Enabled      bool                   `json:"enabled"`
	MappedFields OAuth2MappedFields     `json:"mappedFields"`
	Providers    []OAuth2ProviderConfig `json:"providers"`
}

// OAuth2MappedFields name the record fields a new account's OAuth2
// profile fills in; empty names are skipped.
type OAuth2MappedFields struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Username  string `json:"username"`
	AvatarURL string `json:"avatarURL"`
}

// OAuth2ProviderConfig is one enabled provider. Empty URLs take the
// provider's defaults; the generic OIDC slots need theirs. ClientSecret
// never leaves the server: the collection JSON omits it, and it is stored
// encrypted when an encryption key is configured.
type OAuth2ProviderConfig struct {
	PKCE         *bool          `json:"pkce"`
	Name         string         `json:"name"`
	ClientID     string         `json:"clientId"`
	ClientSecret string         `json:"clientSecret,omitempty"`
	AuthURL      string         `json:"authURL"`
	TokenURL     string         `json:"tokenURL"`
	UserInfoURL  string         `json:"userInfoURL"`
	DisplayName  string         `json:"displayName"`
	Extra        map[string]any `json:"extra"`
}

// MarshalJSON writes providers as [] rather than null.
func (o OAuth2Options) MarshalJSON() ([]byte, error) {
	type plain OAuth2Options
	if o.Providers == nil {
		o.Providers = []OAuth2ProviderConfig{}
	}
	return json.Marshal(plain(o))
}

// public returns the options without client secrets, for API output.
func (o OAuth2Options) public() OAuth2Options {
	o.Providers = slices.Clone(o.Providers)
	for i := range o.Providers {
		o.Providers[i].ClientSecret = ""
	}
	return o
}

// provider returns the configuration of the provider called name.
func (o OAuth2Options) provider(name string) (OAuth2ProviderConfig, bool) {
	for _, p := range o.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return OAuth2ProviderConfig{}, false
}

// OAuth2Input is the "oauth2" options as clients send them: keys left
// out keep their values.
type OAuth2Input struct {
	Enabled      *bool                   `json:"enabled"`
	MappedFields *OAuth2MappedFields     `json:"mappedFields"`
	Providers    *[]OAuth2ProviderConfig `json:"providers"`
}

// withInput returns o changed by in. A provider sent without a client
// secret keeps its stored one: clients never see secrets, so they cannot
// send them back.
func (o OAuth2Options) withInput(in OAuth2Input) OAuth2Options {
	if in.Enabled != nil {
		o.Enabled = *in.Enabled
	}
	if in.MappedFields != nil {
		o.MappedFields = *in.MappedFields
	}
	if in.Providers != nil {
		next := slices.Clone(*in.Providers)
		for i, p := range next {
			if old, ok := o.provider(p.Name); ok && p.ClientSecret == "" {
				next[i].ClientSecret = old.ClientSecret
			}
		}
		o.Providers = next
	}
	return o
}

// prepareOAuth2 validates an auth collection's OAuth2 options and seals
// their client secrets with the encryption key, if one is configured,
// before the collection is stored.
func (a *App) prepareOAuth2(c *Collection) error {
	if c.Auth == nil {
		return nil
	}
	o := &c.Auth.OAuth2
	errs := map[string]FieldError{}
	seen := map[string]bool{}
	o.Providers = slices.Clone(o.Providers) // the cached collection may share them
	for i := range o.Providers {
		p := &o.Providers[i]
		key := fmt.Sprintf("oauth2.providers.%d.", i)
		if _, ok := builtinOAuth2Provider(p.Name); !ok || seen[p.Name] {
			errs[key+"name"] = FieldError{Code: "validation_invalid_provider", Message: "Unknown or duplicated provider."}
		}
		seen[p.Name] = true
		if strings.TrimSpace(p.ClientID) == "" {
			errs[key+"clientId"] = Required()
		}
		if p.ClientSecret == "" {
			errs[key+"clientSecret"] = Required()
		}
		if isGenericOIDC(p.Name) {
			for name, v := range map[string]string{"authURL": p.AuthURL, "tokenURL": p.TokenURL} {
				if v == "" {
					errs[key+name] = Required()
				}
			}
			if p.UserInfoURL == "" && claimString(p.Extra["jwksURL"]) == "" {
				errs[key+"userInfoURL"] = Required()
			}
		}
		if err := a.sealClientSecret(p); err != nil {
			return err
		}
	}
	m := o.MappedFields
	for name, field := range map[string]string{"id": m.ID, "name": m.Name, "username": m.Username, "avatarURL": m.AvatarURL} {
		if field != "" && c.Field(field) == nil {
			errs["oauth2.mappedFields."+name] = FieldError{Code: "validation_missing_field", Message: "Missing collection field."}
		}
	}
	if len(errs) > 0 {
		return Invalid("An error occurred while validating the submitted data.", errs)
	}
	return nil
}

// sealClientSecret stores p's client secret sealed (SealSecret). A
// provider keeps its stored secret when the client sends none (withInput),
// so the secret here is either that stored value, kept as it is, or a new
// one in plain text. A value that merely looks stored but does not open as
// an OAuth2 client secret (a secret of another purpose copied from a
// backup, say) is taken as plain text: it can never be used to make the
// server reveal another secret.
func (a *App) sealClientSecret(p *OAuth2ProviderConfig) error {
	if looksStored(p.ClientSecret) {
		if _, err := a.OpenSecret(SecretOAuth2ClientSecret, p.ClientSecret); err == nil {
			return nil
		}
	}
	sealed, err := a.SealSecret(SecretOAuth2ClientSecret, p.ClientSecret)
	p.ClientSecret = sealed
	return err
}

// OAuth2Method is one provider as auth-methods lists it: where to send
// the user and the PKCE pair the client keeps for the code exchange.
type OAuth2Method struct {
	Name                string `json:"name"`
	DisplayName         string `json:"displayName"`
	State               string `json:"state"`
	AuthURL             string `json:"authURL"`
	CodeVerifier        string `json:"codeVerifier"`
	CodeChallenge       string `json:"codeChallenge"`
	CodeChallengeMethod string `json:"codeChallengeMethod"`
}

// OAuth2Methods lists the providers of c, each with a fresh state and
// PKCE pair; none while OAuth2 is disabled.
func (s *AuthService) OAuth2Methods(c *Collection) []OAuth2Method {
	out := []OAuth2Method{}
	if !c.IsAuth() || !c.Auth.OAuth2.Enabled {
		return out
	}
	for _, cfg := range c.Auth.OAuth2.Providers {
		p, err := newOAuth2Provider(cfg, "")
		if err != nil {
			continue
		}
		verifier := oauth2.GenerateVerifier()
		m := OAuth2Method{
			Name: cfg.Name, DisplayName: orDefault(cfg.DisplayName, p.def.displayName),
			State: security.RandomString(30, security.SecretAlphabet), CodeVerifier: verifier,
		}
		if p.pkce {
			m.CodeChallenge, m.CodeChallengeMethod = oauth2.S256ChallengeFromVerifier(verifier), "S256"
		}
		m.AuthURL = p.authURL(m.State, m.CodeChallenge)
		out = append(out, m)
	}
	return out
}

// OAuth2Request is a sign-in with an authorization code.
type OAuth2Request struct {
	Provider     string
	Code         string
	CodeVerifier string
	RedirectURL  string
	// CreateData holds the values of a new account's other fields.
	CreateData map[string]any
}

// OAuth2Result is a successful OAuth2 sign-in.
type OAuth2Result struct {
	Record *Record
	User   *AuthUser
	Token  *oauth2.Token
	// IsNew reports that the sign-in created the record.
	IsNew bool
}

// AuthWithOAuth2 signs in with an OAuth2 authorization code: it exchanges
// the code at the provider, reads the user and signs in the record linked
// to that account. Without a link it links the caller's own record, or the
// record with the user's email if the provider vouches for it, or creates
// a record (subject to the create rule, as the caller of ctx) and links it. Provider
// failures are all 400 "Failed to authenticate." with the cause logged.
func (s *AuthService) AuthWithOAuth2(ctx context.Context, c *Collection, in OAuth2Request) (*OAuth2Result, error) {
	if !c.IsAuth() {
		return nil, Errorf(CodeNotFound, "Missing or invalid auth collection context.")
	}
	if !c.Auth.OAuth2.Enabled {
		return nil, Errorf(CodeForbidden, "The collection is not configured to allow OAuth2 authentication.")
	}
	fields := map[string]FieldError{}
	if in.Provider == "" {
		fields["provider"] = Required()
	}
	if in.Code == "" {
		fields["code"] = Required()
	}
	cfg, ok := c.Auth.OAuth2.provider(in.Provider)
	if in.Provider != "" && !ok {
		fields["provider"] = FieldError{Code: "validation_invalid_provider", Message: fmt.Sprintf("Provider with name %q is missing or is not enabled.", in.Provider)}
	}
	if len(fields) > 0 {
		return nil, Invalid("An error occurred while validating the submitted data.", fields)
	}
	secret, err := s.app.OpenSecret(SecretOAuth2ClientSecret, cfg.ClientSecret)
	if err != nil {
		return nil, err
	}
	p, err := newOAuth2Provider(cfg, secret)
	if err != nil {
		return nil, err
	}
	// Every request of the sign-in (token, user info, JWKS) goes through
	// the client in pctx, which checks where it connects.
	pctx := context.WithValue(ctx, oauth2.HTTPClient, s.app.HTTPClient(OutboundService, 30*time.Second))
	token, err := p.exchange(pctx, in.Code, in.CodeVerifier, in.RedirectURL)
	if err != nil {
		return nil, Wrap(err, CodeInvalid, "Failed to authenticate.")
	}
	user, err := p.fetchUser(pctx, token, s.app.Now)
	if err != nil {
		return nil, Wrap(err, CodeInvalid, "Failed to authenticate.")
	}
	res := &OAuth2Result{User: user, Token: token}
	err = s.app.InTx(ctx, func(ctx context.Context) error {
		res.Record, res.IsNew, err = s.oauth2Record(ctx, c, p.name, user, in.CreateData)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// oauth2Record finds or creates the record of an OAuth2 user and links it.
func (s *AuthService) oauth2Record(ctx context.Context, c *Collection, provider string, user *AuthUser, createData map[string]any) (*Record, bool, error) {
	links, err := s.app.Collections().Find(ExternalAuthsCollectionName)
	if err != nil {
		return nil, false, err
	}
	found, err := s.app.Records().query(ctx, links, `"collectionRef" = ? AND "provider" = ? AND "providerId" = ?`,
		[]any{c.ID, provider, user.ID}, " LIMIT 1")
	if err != nil {
		return nil, false, err
	}
	if len(found) == 1 {
		rec, err := s.app.Records().Find(ctx, c, found[0].GetString("recordRef"))
		if err == nil {
			return rec, false, s.markVerified(ctx, rec, user)
		}
		if ErrorCodeOf(err) != CodeNotFound {
			return nil, false, err
		}
		// The record is gone: drop its stale link and go on as for a stranger.
		if err := s.app.Records().Delete(AsSystem(ctx), links, found[0].ID()); err != nil {
			return nil, false, err
		}
	}

	rec, err := s.oauth2Owner(ctx, c, user)
	if err != nil {
		return nil, false, err
	}
	isNew := rec == nil
	if isNew {
		if rec, err = s.createOAuth2Record(ctx, c, user, createData); err != nil {
			return nil, false, err
		}
	}
	if err := s.markVerified(ctx, rec, user); err != nil {
		return nil, false, err
	}
	_, err = s.app.Records().Create(AsSystem(ctx), links, map[string]any{
		"collectionRef": c.ID, "recordRef": rec.ID(), "provider": provider, "providerId": user.ID,
	})

	if err != nil {
		return nil, false, Wrap(err, CodeInvalid, "Failed to authenticate.")
	}
	if !isNew {
		rec, err = s.app.Records().Find(ctx, c, rec.ID())
	}
	return rec, isNew, err
}

// oauth2Owner returns the existing record an unlinked OAuth2 account
// belongs to: the signed-in caller's, or the one with the user's email
// when the provider has verified it; nil when a new record is needed.
func (s *AuthService) oauth2Owner(ctx context.Context, c *Collection, user *AuthUser) (*Record, error) {
	if a := ActorFrom(ctx); !a.IsGuest() && !a.System && a.CollectionID == c.ID {
		return s.app.Records().Find(ctx, c, a.ID)
	}
	if user.Email == "" {
		return nil, nil
	}
	recs, err := s.app.Records().query(ctx, c, `LOWER(`+quote(c.Name)+`."email") = ?`, []any{strings.ToLower(user.Email)}, " LIMIT 1")
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	if !user.EmailVerified {
		// Linking on an address nobody vouched for would hand the account
		// to whoever typed it at the provider.
		return nil, Wrap(fmt.Errorf("oauth2 email %q belongs to a record and is not verified", user.Email), CodeInvalid, "Failed to authenticate.")
	}
	return recs[0], nil
}

// createOAuth2Record creates a record for an OAuth2 user from createData,
// the user's email, the mapped profile fields and a random password.
func (s *AuthService) createOAuth2Record(ctx context.Context, c *Collection, user *AuthUser, createData map[string]any) (*Record, error) {
	body := maps.Clone(createData)
	if body == nil {
		body = map[string]any{}
	}
	delete(body, "verified")
	if user.Email != "" {
		body["email"] = user.Email
	}
	if toString(body["password"]) == "" {
		pw := security.RandomString(30, security.SecretAlphabet)
		body["password"], body["passwordConfirm"] = pw, pw
	}
	m := c.Auth.OAuth2.MappedFields
	for field, v := range map[string]string{m.ID: user.ID, m.Name: user.Name, m.Username: user.Username, m.AvatarURL: user.AvatarURL} {
		f := c.Field(field)
		if field == "" || v == "" || f == nil || f.HoldsFiles() {
			continue // TODO: download avatars into file fields.
		}
		if _, set := body[f.Name]; !set {
			body[f.Name] = v
		}
	}
	return s.app.Records().Create(ctx, c, body)
}

// markVerified verifies rec when the provider vouches for its email.
func (s *AuthService) markVerified(ctx context.Context, rec *Record, user *AuthUser) error {
	if !user.EmailVerified || rec.Get("verified") == true || !strings.EqualFold(user.Email, rec.GetString("email")) {
		return nil
	}
	updated, err := s.app.Records().Update(AsSystem(ctx), rec.Collection(), rec.ID(), map[string]any{"verified": true})
	if err == nil {
		*rec = *updated
	}
	return err
}

// ExternalAuths returns the OAuth2 links of an auth record, oldest first.
func (s *AuthService) ExternalAuths(ctx context.Context, rec *Record) ([]*Record, error) {
	links, err := s.app.Collections().Find(ExternalAuthsCollectionName)
	if err != nil {
		return nil, err
	}
	return s.app.Records().query(ctx, links, `"collectionRef" = ? AND "recordRef" = ?`,
		[]any{rec.Collection().ID, rec.ID()}, ` ORDER BY "created", "id"`)
}

// UnlinkExternalAuth removes the link of an auth record to provider; 404
// when there is none.
func (s *AuthService) UnlinkExternalAuth(ctx context.Context, rec *Record, provider string) error {
	all, err := s.ExternalAuths(ctx, rec)
	if err != nil {
		return err
	}
	for _, link := range all {
		if link.GetString("provider") == provider {
			return s.app.Records().Delete(AsSystem(ctx), link.Collection(), link.ID())
		}
	}
	return errNotFound()
}

package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
)

// Partner systems (portals, banks, agencies' software) call the API as machine clients
// with the OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a client id and secret an
// admin registered for them, traded for a short-lived access token of role partner.

// ClientKind is what sort of partner system a client is.
type ClientKind string

const (
	ClientPortal         ClientKind = "portal"
	ClientBank           ClientKind = "bank"
	ClientAgencySoftware ClientKind = "agency_software"
)

// Scopes a client can be granted.
const (
	ScopeDossiersCreate = "dossiers:create"
	ScopeDossiersRead   = "dossiers:read"
	// ScopeWebhooksManage: the client registers, lists and stops its own webhook
	// subscribers, for its agency's dossiers, and reads their deliveries.
	ScopeWebhooksManage = "webhooks:manage"
	// ScopePaymentsReport: a bank's client reports the transfers it received for its
	// agency's dossiers, with its token rather than the signed callback.
	ScopePaymentsReport = "payments:report"
)

// ClientScopes are every scope a client can be granted.
var ClientScopes = []string{ScopeDossiersCreate, ScopeDossiersRead, ScopeWebhooksManage, ScopePaymentsReport}

// SecretOverlap is how long a rotated-out secret still works, so that a partner can roll
// the new one out to all its servers without an outage.
const SecretOverlap = 7 * 24 * time.Hour

// clientSecretPrefix lets secret scanners recognise a leaked courierd client secret.
const clientSecretPrefix = "ccs_"

// Client is a registered partner system. Only hashes of its secrets are kept.
type Client struct {
	ID       uuid.UUID
	Name     string
	Kind     ClientKind
	AgencyID uuid.UUID
	Scopes   []string
	// SecretHash is the current secret's; PreviousHash the one it replaced, good until
	// PreviousUntil.
	SecretHash    []byte
	PreviousHash  []byte
	PreviousUntil *time.Time
	RevokedAt     *time.Time
	CreatedAt     time.Time
}

// Validate checks an admin's registration.
func (c Client) Validate() error {
	var p domain.Problems
	p.Check(strings.TrimSpace(c.Name) != "" && len(c.Name) <= 200, "name", "must be 1–200 characters")
	p.Check(slices.Contains([]ClientKind{ClientPortal, ClientBank, ClientAgencySoftware}, c.Kind), "kind", "must be portal, bank or agency_software")
	// Every scope there is acts for one agency: a client without one could act for all.
	p.Check(c.AgencyID != uuid.Nil, "agency_id", "is required: a client acts for one agency")
	p.Check(len(c.Scopes) > 0, "scopes", "must name at least one scope")
	for i, s := range c.Scopes {
		p.Check(slices.Contains(ClientScopes, s), fmt.Sprintf("scopes[%d]", i), "must be one of "+strings.Join(ClientScopes, ", "))
	}
	return p.Err()
}

// ClientStore keeps clients. Errors: NOT_FOUND for an unknown id; VALIDATION_FAILED for
// an unknown agency.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client, entry audit.Entry) error
	Client(ctx context.Context, id uuid.UUID) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// SetClientSecrets replaces the client's secret hashes (rotation).
	SetClientSecrets(ctx context.Context, c Client, entry audit.Entry) error
	// RevokeClient marks the client revoked at r.At, stops the webhook subscribers it
	// registered and records r, in one transaction.
	RevokeClient(ctx context.Context, id uuid.UUID, r Revocation, entry audit.Entry) error
}

// Clients registers partners' machine clients and authenticates them.
type Clients struct {
	store     ClientStore
	revoked   *RevocationList
	accessTTL time.Duration
	now       func() time.Time
	random    io.Reader
	newID     func() uuid.UUID
}

func NewClients(store ClientStore, revoked *RevocationList, accessTTL time.Duration, now func() time.Time, random io.Reader, newID func() uuid.UUID) *Clients {
	return &Clients{store: store, revoked: revoked, accessTTL: accessTTL, now: now, random: random, newID: newID}
}

// newSecret is a random 32-byte secret and its hash. The secret is random, not chosen by
// a person, so a slow password hash would buy nothing against guessing: SHA-256, compared
// in constant time, is enough and keeps the token endpoint cheap.
func (s *Clients) newSecret() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return "", nil, fmt.Errorf("client secret: %w", err)
	}
	secret := clientSecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Register adds a client and returns it with its secret, shown this once.
func (s *Clients) Register(ctx context.Context, c Client) (Client, string, error) {
	slices.Sort(c.Scopes)
	c.Scopes = slices.Compact(c.Scopes)
	if err := c.Validate(); err != nil {
		return Client{}, "", err
	}
	secret, hash, err := s.newSecret()
	if err != nil {
		return Client{}, "", err
	}
	c.ID, c.SecretHash, c.CreatedAt = s.newID(), hash, s.now()
	c.PreviousHash, c.PreviousUntil, c.RevokedAt = nil, nil, nil
	entry := entryOf(PrincipalFrom(ctx), c.CreatedAt, "client.create", "client", c.ID.String(), map[string]any{"kind": c.Kind, "scopes": c.Scopes})
	if err := s.store.CreateClient(ctx, c, entry); err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

func (s *Clients) List(ctx context.Context) ([]Client, error) { return s.store.ListClients(ctx) }

func (s *Clients) Get(ctx context.Context, id uuid.UUID) (Client, error) {
	return s.store.Client(ctx, id)
}

// RotateSecret gives a client a new secret. The old one keeps working for SecretOverlap,
// or stops at once with retirePrevious (a leaked secret).
func (s *Clients) RotateSecret(ctx context.Context, id uuid.UUID, retirePrevious bool) (Client, string, error) {
	c, err := s.store.Client(ctx, id)
	if err != nil {
		return Client{}, "", err
	}
	if c.RevokedAt != nil {
		return Client{}, "", domain.Errorf(domain.CodeConflict, "this client is revoked; register a new one")
	}
	secret, hash, err := s.newSecret()
	if err != nil {
		return Client{}, "", err
	}
	now := s.now()
	c.PreviousHash, c.PreviousUntil, c.SecretHash = c.SecretHash, new(now.Add(SecretOverlap)), hash
	if retirePrevious {
		c.PreviousHash, c.PreviousUntil = nil, nil
	}
	entry := entryOf(PrincipalFrom(ctx), now, "client.rotate_secret", "client", id.String(), map[string]any{"retire_previous": retirePrevious})
	if err := s.store.SetClientSecrets(ctx, c, entry); err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

// Revoke ends a client: it gets no more tokens, and the tokens it holds stop working at
// once, through the revocation list every process checks (the client id is their subject).
// The store stops its webhook subscribers in the same transaction.
func (s *Clients) Revoke(ctx context.Context, id uuid.UUID) error {
	now := s.now()
	r := Revocation{Kind: RevokeAccount, Subject: id, At: now, Until: now.Add(s.accessTTL)}
	if err := s.store.RevokeClient(ctx, id, r, entryOf(PrincipalFrom(ctx), now, "client.revoke", "client", id.String(), nil)); err != nil {
		return err
	}
	s.revoked.Add(r)
	return nil
}

// OAuthError is a refusal at the token endpoint, in RFC 6749 §5.2's terms.
type OAuthError struct {
	Code        string // invalid_client, invalid_scope, …
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

var errInvalidClient = &OAuthError{Code: "invalid_client", Description: "unknown client, wrong secret, or revoked client"}

// Authenticate checks a client's id and secret and returns the principal its token
// carries, with the scopes asked for (space-separated; empty: all it was granted).
func (s *Clients) Authenticate(ctx context.Context, clientID, secret, scope string) (Principal, error) {
	id, err := uuid.Parse(clientID)
	if err != nil || len(secret) > 100 {
		return Principal{}, errInvalidClient
	}
	c, err := s.store.Client(ctx, id)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return Principal{}, errInvalidClient
	}
	if err != nil {
		return Principal{}, err
	}
	hash := hashSecret(secret)
	current := subtle.ConstantTimeCompare(hash, c.SecretHash) == 1
	previous := c.PreviousHash != nil && c.PreviousUntil != nil && s.now().Before(*c.PreviousUntil) &&
		subtle.ConstantTimeCompare(hash, c.PreviousHash) == 1
	if c.RevokedAt != nil || !current && !previous {
		return Principal{}, errInvalidClient
	}
	granted := c.Scopes
	if asked := strings.Fields(scope); len(asked) > 0 {
		for _, a := range asked {
			if !slices.Contains(c.Scopes, a) {
				return Principal{}, &OAuthError{Code: "invalid_scope", Description: fmt.Sprintf("this client was not granted %q", a)}
			}
		}
		slices.Sort(asked)
		granted = slices.Compact(asked)
	}
	return Principal{AccountID: c.ID, Role: RolePartner, AgencyID: c.AgencyID, Scopes: granted, SessionID: s.newID()}, nil
}

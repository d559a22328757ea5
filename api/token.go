package api

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"courierd/domain/auth"
)

func init() {
	// Revocations are compared with a token's iat; whole seconds would make a login right
	// after a revocation, in the same second, look revoked.
	jwt.TimePrecision = time.Millisecond
}

const (
	tokenIssuer   = "courierd"
	staffAudience = "courierd-api"
	// citizenAudience marks citizens' tokens, accepted on citizen routes only.
	citizenAudience = "courierd-citizen"
	// accessTokenType is RFC 9068's media type for access tokens, checked so that no other
	// kind of JWT passes as one.
	accessTokenType = "at+jwt"
	clockLeeway     = 30 * time.Second
)

// KeySet signs access tokens with one Ed25519 key and verifies with every configured key,
// so a key can be rotated in without logging anyone out: add the new key, make it the
// signing key, and drop the old one once its tokens have expired.
type KeySet struct {
	signingKID string
	signing    ed25519.PrivateKey
	verify     map[string]ed25519.PublicKey
}

var kidShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// LoadKeyDir reads <kid>.pem files from dir: PKCS#8 Ed25519 private keys (which also
// verify) or PKIX public keys (verify only). signingKID names the key that signs; empty
// means the only private key there is.
func LoadKeyDir(dir, signingKID string) (*KeySet, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no *.pem keys in %s (create one with `courierd keygen %s`)", dir, dir)
	}
	sort.Strings(paths)
	ks := &KeySet{verify: map[string]ed25519.PublicKey{}}
	private := map[string]ed25519.PrivateKey{}
	for _, path := range paths {
		kid := strings.TrimSuffix(filepath.Base(path), ".pem")
		if !kidShape.MatchString(kid) {
			return nil, fmt.Errorf("%s: a key file is named <kid>.pem, kid of letters, digits, '-' and '_'", path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			return nil, fmt.Errorf("%s: not PEM", path)
		}
		switch block.Type {
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			ed, ok := key.(ed25519.PrivateKey)
			if err != nil || !ok {
				return nil, fmt.Errorf("%s: not an Ed25519 private key", path)
			}
			private[kid] = ed
			ks.verify[kid] = ed.Public().(ed25519.PublicKey)
		case "PUBLIC KEY":
			key, err := x509.ParsePKIXPublicKey(block.Bytes)
			ed, ok := key.(ed25519.PublicKey)
			if err != nil || !ok {
				return nil, fmt.Errorf("%s: not an Ed25519 public key", path)
			}
			ks.verify[kid] = ed
		default:
			return nil, fmt.Errorf("%s: PEM block %q is neither PRIVATE KEY nor PUBLIC KEY", path, block.Type)
		}
	}
	if signingKID == "" && len(private) == 1 {
		for kid := range private {
			signingKID = kid
		}
	}
	key, ok := private[signingKID]
	if !ok {
		return nil, fmt.Errorf("no private key %q in %s to sign with (set AUTH_SIGNING_KEY_ID to one of the private keys' names)", signingKID, dir)
	}
	ks.signingKID, ks.signing = signingKID, key
	return ks, nil
}

// SigningKID names the key that signs new tokens.
func (ks *KeySet) SigningKID() string { return ks.signingKID }

// EphemeralKeySet is a key made at start and never stored: tokens die with the process
// and other processes cannot check them. For a quick start and tests only.
func EphemeralKeySet() (*KeySet, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := "ephemeral-" + uuid.NewString()[:8]
	return &KeySet{signingKID: kid, signing: key, verify: map[string]ed25519.PublicKey{kid: key.Public().(ed25519.PublicKey)}}, nil
}

// WriteKeyFile creates dir/<kid>.pem with a new Ed25519 private key, readable by the
// owner only, and refuses to overwrite one.
func WriteKeyFile(dir, kid string) (string, error) {
	if !kidShape.MatchString(kid) {
		return "", errors.New("a key id is 1–64 letters, digits, '-' or '_'")
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, kid+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return path, pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// accessClaims is the access token's body: registered claims plus the principal's role
// and scope, so that a request is authorized without reading the database.
type accessClaims struct {
	jwt.RegisteredClaims
	Role        string   `json:"role"`
	SessionID   string   `json:"sid"`
	CourierID   string   `json:"cid,omitempty"`
	AgencyID    string   `json:"aid,omitempty"`
	PostOffices []string `json:"po,omitempty"`
	DeviceID    string   `json:"dev,omitempty"`
	DeviceKey   string   `json:"dky,omitempty"`
	PhoneIndex  string   `json:"phx,omitempty"`
	// Scope is a partner's granted scopes, space-separated (RFC 9068 §2.2.3).
	Scope string `json:"scope,omitempty"`
}

// tokens issues and checks access tokens.
type tokens struct {
	keys       *KeySet
	ttl        time.Duration
	citizenTTL time.Duration
	now        func() time.Time
	verified   verifiedTokens
}

// verifiedTokens remembers the tokens whose signature checked out, until they expire:
// a handheld sends the same token with every request for its lifetime, and an ed25519
// verification was a tenth of the server's CPU under a fleet's load. Only tokens that
// parsed are kept, so a stranger cannot fill it.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[2]string]verifiedToken // token, audience
}

type verifiedToken struct {
	principal           auth.Principal
	issued, valid, ends time.Time // valid: not before; ends: expires
}

// verifiedTokensMax bounds the memory kept (about 1 KiB each): more than a country's
// couriers and staff signed in at once.
const verifiedTokensMax = 8192

func (v *verifiedTokens) get(key [2]string, now time.Time) (verifiedToken, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[key]
	if ok && (now.Before(e.valid.Add(-clockLeeway)) || !now.Before(e.ends.Add(clockLeeway))) {
		delete(v.entries, key)
		return verifiedToken{}, false
	}
	return e, ok
}

func (v *verifiedTokens) put(key [2]string, e verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= verifiedTokensMax {
		for k, old := range v.entries {
			if !now.Before(old.ends.Add(clockLeeway)) {
				delete(v.entries, k)
			}
		}
	}
	if v.entries == nil || len(v.entries) >= verifiedTokensMax {
		v.entries = make(map[[2]string]verifiedToken)
	}
	v.entries[key] = e
}

// verify is parse, answered from the tokens already verified when it can be.
func (t *tokens) verify(raw, audience string) (auth.Principal, time.Time, error) {
	key, now := [2]string{raw, audience}, t.now()
	if e, ok := t.verified.get(key, now); ok {
		return e.principal, e.issued, nil
	}
	p, claims, err := t.parse(raw, audience)
	if err != nil {
		return auth.Principal{}, time.Time{}, err
	}
	e := verifiedToken{principal: p, issued: claims.IssuedAt.Time, ends: claims.ExpiresAt.Time}
	if claims.NotBefore != nil {
		e.valid = claims.NotBefore.Time
	}
	// The key is kept past the request, and fiber's strings point into a buffer it reuses.
	t.verified.put([2]string{strings.Clone(raw), audience}, e, now)
	return p, e.issued, nil
}

// audienceOf is the audience a principal's tokens are for.
func audienceOf(p auth.Principal) (string, bool) {
	return citizenAudience, p.Role == auth.RoleCitizen
}

func (t *tokens) lifetime(p auth.Principal) time.Duration {
	if _, citizen := audienceOf(p); citizen {
		return t.citizenTTL
	}
	return t.ttl
}

func (t *tokens) issue(s auth.Session) (string, error) {
	p := s.Principal
	audience := staffAudience
	if a, citizen := audienceOf(p); citizen {
		audience = a
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   p.AccountID.String(),
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(s.IssuedAt),
			NotBefore: jwt.NewNumericDate(s.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(s.IssuedAt.Add(t.lifetime(p))),
			ID:        uuid.NewString(),
		},
		PhoneIndex: p.PhoneIndex,
		Role:       string(p.Role), SessionID: p.SessionID.String(), CourierID: idText(p.CourierID), AgencyID: idText(p.AgencyID),
		DeviceID: idText(p.DeviceID), DeviceKey: p.DeviceKey, Scope: strings.Join(p.Scopes, " "),
	}
	for _, o := range p.PostOfficeIDs {
		claims.PostOffices = append(claims.PostOffices, o.String())
	}
	token := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	token.Header["kid"] = t.keys.signingKID
	token.Header["typ"] = accessTokenType
	return token.SignedString(t.keys.signing)
}

var errBadToken = errors.New("invalid token")

// parse checks a token completely: the algorithm is pinned to EdDSA, the key chosen only
// among configured ones by kid, the type, issuer and audience checked, exp and iat
// required. It returns the principal and the claims (whose iat and exp are set).
func (t *tokens) parse(raw, audience string) (auth.Principal, *accessClaims, error) {
	var claims accessClaims
	token, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, accessTokenType) {
			return nil, errBadToken
		}
		kid, _ := tok.Header["kid"].(string)
		key, ok := t.keys.verify[kid]
		if !ok {
			return nil, errBadToken
		}
		return key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return auth.Principal{}, nil, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if !token.Valid || claims.IssuedAt == nil {
		return auth.Principal{}, nil, errBadToken
	}
	p := auth.Principal{Role: auth.Role(claims.Role), DeviceKey: claims.DeviceKey, PhoneIndex: claims.PhoneIndex, Scopes: strings.Fields(claims.Scope)}
	if (audience == citizenAudience) != (p.Role == auth.RoleCitizen) {
		return auth.Principal{}, nil, errBadToken
	}
	ids := []struct {
		text string
		dst  *uuid.UUID
		need bool
	}{
		{claims.Subject, &p.AccountID, true}, {claims.SessionID, &p.SessionID, true},
		{claims.CourierID, &p.CourierID, false}, {claims.AgencyID, &p.AgencyID, false}, {claims.DeviceID, &p.DeviceID, false},
	}
	for _, id := range ids {
		if id.text == "" && !id.need {
			continue
		}
		if *id.dst, err = uuid.Parse(id.text); err != nil {
			return auth.Principal{}, nil, errBadToken
		}
	}
	for _, o := range claims.PostOffices {
		office, err := uuid.Parse(o)
		if err != nil {
			return auth.Principal{}, nil, errBadToken
		}
		p.PostOfficeIDs = append(p.PostOfficeIDs, office)
	}
	return p, &claims, nil
}

func idText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

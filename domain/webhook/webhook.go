// Package webhook tells agencies and portals what happens to dossiers: each subscriber
// names the events it wants (of its own agency's dossiers, or all), and every such event
// is POSTed to its URL, signed with its secret, retried with backoff until delivered (River
// keeps trying for about three weeks), and logged attempt by attempt.
//
// Subscribers' secrets are sealed with the data keys, as citizen ID numbers are: a copy of
// the database does not let anyone sign as courierd.
//
// Imports allowed: the standard library, courierd/domain and its dossier, auth, audit and
// pii packages, uuid.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/pii"
)

// Headers of a delivery. The signature is "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" under the subscriber's secret; a receiver refuses timestamps far
// from its clock, so a captured delivery cannot be replayed later.
const (
	HeaderTimestamp = "X-Courierd-Timestamp"
	HeaderSignature = "X-Courierd-Signature"
	HeaderEvent     = "X-Courierd-Event"
	HeaderDelivery  = "X-Courierd-Delivery"
)

// Sign is the signature of body sent at timestamp under secret: the scheme of deliveries,
// and of the portals' calls to courierd.
func Sign(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Subscriber is an agency's or portal's endpoint.
type Subscriber struct {
	ID   uuid.UUID
	Name string
	URL  string
	// Secret is the shared secret in clear: given at registration, and read back only
	// from rows an earlier release wrote in plain text, until SealSecrets seals them.
	Secret string
	// SealedSecret is the secret sealed under a data key for this subscriber: all that
	// is stored of it.
	SealedSecret string
	AgencyID     uuid.UUID       // uuid.Nil: every agency's dossiers
	Events       []dossier.Event // empty: every event
	// ClientID is the partner's client that registered it and alone manages it besides
	// admins; uuid.Nil for one an admin registered.
	ClientID  uuid.UUID
	Active    bool
	CreatedAt time.Time
}

// wants reports whether s takes event e of a dossier of agency.
func (s Subscriber) wants(e dossier.Event, agency uuid.UUID) bool {
	return s.Active && (s.AgencyID == uuid.Nil || s.AgencyID == agency) && (len(s.Events) == 0 || slices.Contains(s.Events, e))
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	Pending   DeliveryStatus = "pending"
	Delivered DeliveryStatus = "delivered"
)

// Delivery is one event for one subscriber, and how its attempts went.
type Delivery struct {
	ID           uuid.UUID
	SubscriberID uuid.UUID
	DossierID    uuid.UUID
	Event        dossier.Event
	Body         []byte
	Status       DeliveryStatus
	Attempts     int
	LastStatus   int    // the subscriber's last HTTP status; 0: no answer
	LastError    string // why the last attempt failed
	CreatedAt    time.Time
	DeliveredAt  *time.Time
}

// Store is the persistence port of webhooks.
type Store interface {
	// CreateSubscriber stores s with its sealed secret only.
	CreateSubscriber(ctx context.Context, s Subscriber, entry audit.Entry) error
	Subscribers(ctx context.Context) ([]Subscriber, error)
	// Subscriber is one subscriber; NOT_FOUND when there is none.
	Subscriber(ctx context.Context, id uuid.UUID) (Subscriber, error)
	// ListSubscribers pages through the subscribers, oldest first: client's own, or all
	// for uuid.Nil.
	ListSubscribers(ctx context.Context, client uuid.UUID, page domain.Page) (domain.List[Subscriber], error)
	// Deactivate marks subscriber id inactive and records entry, in one transaction.
	Deactivate(ctx context.Context, id uuid.UUID, entry audit.Entry) error
	// ReplaceSecret stores sealed as subscriber id's secret and forgets the plain one,
	// unless its sealed secret is no longer was (another process sealed it meanwhile).
	ReplaceSecret(ctx context.Context, id uuid.UUID, was, sealed string) error
	// Enqueue writes the deliveries and a job for each, in one transaction; a delivery
	// already written (the same id) is left as it is.
	Enqueue(ctx context.Context, deliveries []Delivery) error
	Delivery(ctx context.Context, id uuid.UUID) (Delivery, Subscriber, error)
	// Attempted records an attempt's outcome.
	Attempted(ctx context.Context, id uuid.UUID, status DeliveryStatus, httpStatus int, why string, at time.Time) error
	Deliveries(ctx context.Context, subscriber uuid.UUID, page domain.Page) (domain.List[Delivery], error)
}

// Poster sends a signed body to a subscriber and answers its HTTP status.
type Poster interface {
	Post(ctx context.Context, url string, headers map[string]string, body []byte) (int, error)
}

// Service is the webhook rules.
type Service struct {
	store    Store
	dossiers *dossier.Service
	keys     *pii.Keyring
	poster   Poster
	now      func() time.Time
	newID    func() uuid.UUID
}

func NewService(store Store, dossiers *dossier.Service, keys *pii.Keyring, poster Poster, now func() time.Time, newID func() uuid.UUID) *Service {
	return &Service{store: store, dossiers: dossiers, keys: keys, poster: poster, now: now, newID: newID}
}

// secretContext binds a sealed secret to its subscriber: copied onto another, it does not
// open.
func secretContext(id uuid.UUID) string { return "webhook:" + id.String() }

// secret is sub's secret in clear: opened, or as an earlier release stored it.
func (s *Service) secret(sub Subscriber) (string, error) {
	if sub.SealedSecret == "" {
		return sub.Secret, nil
	}
	plain, err := s.keys.Open(sub.SealedSecret, secretContext(sub.ID))
	if err != nil {
		return "", fmt.Errorf("webhook subscriber %s's secret: %w", sub.ID, err)
	}
	return plain, nil
}

// SealSecrets seals every subscriber's secret under the current data key: those an
// earlier release stored in plain text (it may still be running beside this one during an
// upgrade, so the retention job calls this daily), and those sealed under an older key
// (`courierd reseal`). It returns how many changed; run again, it changes none.
func (s *Service) SealSecrets(ctx context.Context) (int, error) {
	subs, err := s.store.Subscribers(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, sub := range subs {
		var sealed string
		var resealed bool
		if sub.SealedSecret == "" {
			sealed, err = s.keys.Seal(sub.Secret, secretContext(sub.ID))
			resealed = err == nil
		} else {
			sealed, resealed, err = s.keys.Reseal(sub.SealedSecret, secretContext(sub.ID))
		}
		if err != nil {
			return changed, fmt.Errorf("webhook subscriber %s's secret: %w", sub.ID, err)
		}
		if !resealed {
			continue
		}
		if err := s.store.ReplaceSecret(ctx, sub.ID, sub.SealedSecret, sealed); err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

// manages reports whether p may manage webhook subscribers at all: an admin, or a
// partner's client granted webhooks:manage (for its own subscribers only).
func manages(p auth.Principal) error {
	if !p.Is(auth.RoleAdmin) && !p.HasScope(auth.ScopeWebhooksManage) {
		return domain.Errorf(domain.CodeForbidden, "only admins and clients granted %s manage webhook subscribers", auth.ScopeWebhooksManage)
	}
	return nil
}

// owned is subscriber id, if p may manage it: admins any, a client its own. Another
// client's is NOT_FOUND, as a missing one is, so that a client learns nothing of others'.
func (s *Service) owned(ctx context.Context, id uuid.UUID) (Subscriber, error) {
	p := auth.PrincipalFrom(ctx)
	if err := manages(p); err != nil {
		return Subscriber{}, err
	}
	sub, err := s.store.Subscriber(ctx, id)
	if err == nil && !p.Is(auth.RoleAdmin) && sub.ClientID != p.AccountID {
		return Subscriber{}, domain.Errorf(domain.CodeNotFound, "no such webhook subscriber")
	}
	return sub, err
}

// CreateSubscriber registers an endpoint: an admin's for any agency or all, a client's for
// its own agency's dossiers, and bound to the client.
func (s *Service) CreateSubscriber(ctx context.Context, sub Subscriber) (Subscriber, error) {
	p := auth.PrincipalFrom(ctx)
	if err := manages(p); err != nil {
		return Subscriber{}, err
	}
	var probs domain.Problems
	sub.ClientID = uuid.Nil
	if p.Is(auth.RolePartner) {
		probs.Check(sub.AgencyID == uuid.Nil || sub.AgencyID == p.AgencyID, "agency_id", "a client subscribes only to its own agency's dossiers")
		sub.AgencyID, sub.ClientID = p.AgencyID, p.AccountID
	}
	sub.Name = strings.TrimSpace(sub.Name)
	probs.Check(sub.Name != "" && utf8.RuneCountInString(sub.Name) <= 120, "name", "is required, at most 120 characters")
	u, err := url.Parse(sub.URL)
	probs.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(sub.URL) <= 500, "url", "must be an http(s) URL")
	probs.Check(len(sub.Secret) >= 32 && len(sub.Secret) <= 200, "secret", "32 to 200 characters, shared with the subscriber")
	for i, e := range sub.Events {
		probs.Check(slices.Contains(dossier.Events, e), fmt.Sprintf("events[%d]", i), "is not a dossier event")
	}
	if err := probs.Err(); err != nil {
		return Subscriber{}, err
	}
	sub.ID, sub.Active, sub.CreatedAt = s.newID(), true, s.now()
	if sub.SealedSecret, err = s.keys.Seal(sub.Secret, secretContext(sub.ID)); err != nil {
		return Subscriber{}, err
	}
	sub.Secret = ""
	entry := audit.Entry{At: sub.CreatedAt, ActorID: p.AccountID, ActorRole: string(p.Role), Source: p.Source, Action: "webhook.subscribe",
		ResourceKind: "webhook_subscriber", ResourceID: sub.ID.String(), Detail: map[string]any{"name": sub.Name, "url": sub.URL}}
	if err := s.store.CreateSubscriber(ctx, sub, entry); err != nil {
		return Subscriber{}, err
	}
	sub.SealedSecret = ""
	return sub, nil
}

// payload is what a subscriber receives: the event as it was committed (the states it
// moved the dossier from and to, the version after it, its time) and the dossier's public
// facts that never change, never the applicant's.
type payload struct {
	Event       dossier.Event `json:"event"`
	DossierID   uuid.UUID     `json:"dossier_id"`
	ReceiptCode string        `json:"receipt_code"`
	PortalRef   string        `json:"portal_ref,omitempty"`
	FromState   dossier.State `json:"from_state"`
	State       dossier.State `json:"state"`
	Version     int           `json:"version"`
	At          time.Time     `json:"at"`
}

// Fanout turns one event of a dossier, as its transaction committed it, into a delivery
// for each subscriber that wants it. It runs as a job after that transaction, maybe after
// later events too: what it tells comes from the event, never from the dossier as it is
// by then. Run twice, it writes nothing new.
func (s *Service) Fanout(ctx context.Context, dossierID uuid.UUID, o dossier.Occurrence) error {
	event, version := o.Event, o.Version
	ctx = auth.WithPrincipal(ctx, auth.System)
	subs, err := s.store.Subscribers(ctx)
	if err != nil {
		return err
	}
	// Most events interest no one: the dossier is read only when a subscriber may want it.
	if !slices.ContainsFunc(subs, func(sub Subscriber) bool { return sub.wants(event, sub.AgencyID) }) {
		return nil
	}
	d, _, err := s.dossiers.Get(ctx, dossierID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(payload{Event: event, DossierID: d.ID, ReceiptCode: d.Receipt.String(), PortalRef: d.PortalRef,
		FromState: o.From, State: o.To, Version: version, At: o.At.UTC()})
	if err != nil {
		return err
	}
	var out []Delivery
	for _, sub := range subs {
		if sub.wants(event, d.AgencyID) {
			// One id per subscriber and version of the dossier: a second fan-out of the
			// same event finds its deliveries written.
			id := uuid.NewSHA1(sub.ID, []byte(dossierID.String()+"/"+strconv.Itoa(version)))
			out = append(out, Delivery{ID: id, SubscriberID: sub.ID, DossierID: dossierID, Event: event, Body: body,
				Status: Pending, CreatedAt: s.now()})
		}
	}
	return s.store.Enqueue(ctx, out)
}

// Deliver makes one attempt at a delivery; an error makes the job try again later.
func (s *Service) Deliver(ctx context.Context, id uuid.UUID) error {
	d, sub, err := s.store.Delivery(ctx, id)
	if err != nil {
		return err
	}
	if d.Status == Delivered {
		return nil
	}
	secret, err := s.secret(sub)
	if err != nil {
		return err
	}
	now := s.now()
	headers := map[string]string{HeaderTimestamp: strconv.FormatInt(now.Unix(), 10), HeaderSignature: Sign([]byte(secret), now.Unix(), d.Body),
		HeaderEvent: string(d.Event), HeaderDelivery: d.ID.String(), "Content-Type": "application/json"}
	status, err := s.poster.Post(ctx, sub.URL, headers, d.Body)
	switch {
	case err != nil:
		if rerr := s.store.Attempted(ctx, id, Pending, 0, err.Error(), now); rerr != nil {
			return rerr
		}
		return err
	case status < 200 || status > 299:
		why := fmt.Sprintf("the subscriber answered HTTP %d", status)
		if rerr := s.store.Attempted(ctx, id, Pending, status, why, now); rerr != nil {
			return rerr
		}
		return fmt.Errorf("webhook delivery %s: %s", id, why)
	}
	return s.store.Attempted(ctx, id, Delivered, status, "", now)
}

// Subscribers pages through the subscribers the caller manages: all for an admin, a
// client's own. Secrets are never answered.
func (s *Service) Subscribers(ctx context.Context, page domain.Page) (domain.List[Subscriber], error) {
	p := auth.PrincipalFrom(ctx)
	if err := manages(p); err != nil {
		return domain.List[Subscriber]{}, err
	}
	if err := page.Validate(); err != nil {
		return domain.List[Subscriber]{}, err
	}
	client := uuid.Nil
	if !p.Is(auth.RoleAdmin) {
		client = p.AccountID
	}
	list, err := s.store.ListSubscribers(ctx, client, page)
	for i := range list.Items {
		list.Items[i].Secret, list.Items[i].SealedSecret = "", ""
	}
	return list, err
}

// Deactivate stops deliveries to a subscriber the caller manages; its log stays. Stopping
// one already stopped changes nothing.
func (s *Service) Deactivate(ctx context.Context, id uuid.UUID) (Subscriber, error) {
	sub, err := s.owned(ctx, id)
	if err != nil {
		return Subscriber{}, err
	}
	sub.Secret, sub.SealedSecret = "", ""
	if !sub.Active {
		return sub, nil
	}
	p := auth.PrincipalFrom(ctx)
	entry := audit.Entry{At: s.now(), ActorID: p.AccountID, ActorRole: string(p.Role), Source: p.Source, Action: "webhook.deactivate",
		ResourceKind: "webhook_subscriber", ResourceID: id.String()}
	if err := s.store.Deactivate(ctx, id, entry); err != nil {
		return Subscriber{}, err
	}
	sub.Active = false
	return sub, nil
}

// Deliveries is the delivery log, newest first, of a subscriber the caller manages.
func (s *Service) Deliveries(ctx context.Context, subscriber uuid.UUID, page domain.Page) (domain.List[Delivery], error) {
	if _, err := s.owned(ctx, subscriber); err != nil {
		return domain.List[Delivery]{}, err
	}
	if err := page.Validate(); err != nil {
		return domain.List[Delivery]{}, err
	}
	return s.store.Deliveries(ctx, subscriber, page)
}

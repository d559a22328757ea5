package counter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// ManifestDirection says which way a batch goes between a post office and an agency.
type ManifestDirection string

const (
	ToAgency   ManifestDirection = "to_agency"   // dossiers, from the post office
	FromAgency ManifestDirection = "from_agency" // results (and refused dossiers), to the post office
)

// ItemStatus is what became of one line of a manifest.
type ItemStatus string

const (
	ItemSent     ItemStatus = "sent"     // listed by the sender, not yet counted by the receiver
	ItemReceived ItemStatus = "received" // listed and received
	ItemMissing  ItemStatus = "missing"  // listed, not received: it stays with the sender
	ItemExtra    ItemStatus = "extra"    // received without being listed: recorded, not accepted
)

// ManifestItem is one dossier of a batch.
type ManifestItem struct {
	DossierID uuid.UUID
	Status    ItemStatus
}

// Manifest is a batch handover record (biên bản bàn giao) between a post office and an
// agency: the sender lists what it hands over, the receiver says what it counted, and any
// difference stays visible.
type Manifest struct {
	ID            uuid.UUID
	Direction     ManifestDirection
	PostOfficeID  uuid.UUID
	AgencyID      uuid.UUID
	SealNumber    string // the seal the sender closed the bag with
	SealRead      string // the seal the receiver read on it; a different one is a discrepancy
	SentBy        uuid.UUID
	SentAt        time.Time
	ReceivedBy    uuid.UUID
	ReceivedAt    *time.Time
	Note          string
	Items         []ManifestItem
	Discrepancies int
	Version       int
}

// ManifestFilter narrows a manifest list; zero fields do not filter.
type ManifestFilter struct {
	PostOfficeIDs []uuid.UUID
	AgencyID      uuid.UUID
	Received      *bool
	Discrepancies bool
}

// ReceiveChange is what receiving a manifest writes: the manifest and every dossier's
// change, in one transaction.
type ReceiveChange struct {
	Manifest Manifest
	Changes  []dossier.Change
	Audit    audit.Entry
}

// Store is the persistence port of the counter: manifests and couriers' closed days.
// Errors: NOT_FOUND for unknown ids; CONFLICT when a dossier listed is already on an open
// manifest, or a day is already closed.
type Store interface {
	CreateManifest(ctx context.Context, m Manifest, entry audit.Entry) error
	GetManifest(ctx context.Context, id uuid.UUID) (Manifest, error)
	// OpenManifests names, for each dossier given that is listed on a manifest not yet
	// received, that manifest.
	OpenManifests(ctx context.Context, dossiers []uuid.UUID) (map[uuid.UUID]uuid.UUID, error)
	ListManifests(ctx context.Context, f ManifestFilter, page domain.Page) (domain.List[Manifest], error)
	// Begin starts a transaction of the counter (see Tx).
	Begin(ctx context.Context) (Tx, error)
}

// Tx is the counter's transaction: a manifest received with the dossiers it hands over
// (their changes go through the dossier.Writer, their jobs inserted at commit), or a
// courier's day closed against the bag it reads. Rollback after Commit does nothing, so
// that `defer tx.Rollback()` ends every path.
type Tx interface {
	dossier.Writer
	// LockManifest locks manifest id until the transaction ends and reads it with its items.
	LockManifest(ctx context.Context, id uuid.UUID) (Manifest, error)
	// WriteManifest writes m (its receipt, items and discrepancies) with the audit entry.
	WriteManifest(ctx context.Context, m Manifest, entry audit.Entry) error
	// LockCourier locks the courier against handovers to them (a custody entry to a
	// courier waits on it) until the transaction ends.
	LockCourier(ctx context.Context, courier uuid.UUID) error
	// Bag reads the dossiers the courier holds, in id order.
	Bag(ctx context.Context, courier uuid.UUID) ([]dossier.Dossier, error)
	// WriteDay records the closed day with the audit entry; CONFLICT when that day is
	// already closed.
	WriteDay(ctx context.Context, day CourierDay, entry audit.Entry) error
	Commit() error
	Rollback()
}

// manifestRule is what each direction expects of its items and its people: which event
// receiving an item is, by the state it waits in.
var manifestRule = map[ManifestDirection]struct {
	from, to    dossier.PartyKind
	events      map[dossier.State]dossier.Event
	sender      auth.Role
	receiver    auth.Role
	needsReturn bool
}{
	// Dossiers to the agency, and results whose applicant did not collect them going back.
	ToAgency: {dossier.PartyPostOffice, dossier.PartyAgency, map[dossier.State]dossier.Event{dossier.StateAtPostOffice: dossier.EventHandToAgency, dossier.StateHeldAtPostOffice: dossier.EventReturnToAgency},
		auth.RoleDispatcher, auth.RoleClerk, false},
	FromAgency: {dossier.PartyAgency, dossier.PartyPostOffice, map[dossier.State]dossier.Event{dossier.StateResultReady: dossier.EventCollectResult, dossier.StateRejectedIncomplete: dossier.EventCollectResult},
		auth.RoleClerk, auth.RoleDispatcher, true},
}

// canAct reports whether p may act for party (a post office or an agency).
func canAct(p auth.Principal, party dossier.Party) bool {
	switch {
	case p.Is(auth.RoleAdmin, auth.RoleSystem):
		return true
	case party.Kind == dossier.PartyPostOffice:
		return p.PlansFor(party.ID)
	case party.Kind == dossier.PartyAgency:
		return p.Role == auth.RoleClerk && p.AgencyID == party.ID
	}
	return false
}

func (m Manifest) party(kind dossier.PartyKind) dossier.Party {
	if kind == dossier.PartyAgency {
		return dossier.Party{Kind: dossier.PartyAgency, ID: m.AgencyID}
	}
	return dossier.Party{Kind: dossier.PartyPostOffice, ID: m.PostOfficeID}
}

// CreateManifest records a batch the caller hands over. Every listed dossier must be held
// by the sender, in a state ready for this direction, and bound to this agency and office.
func (s *Service) CreateManifest(ctx context.Context, m Manifest) (Manifest, error) {
	p := auth.PrincipalFrom(ctx)
	rule, known := manifestRule[m.Direction]
	if !known {
		return Manifest{}, domain.Invalid("direction", "must be to_agency or from_agency")
	}
	var probs domain.Problems
	probs.Check(len(m.Items) > 0 && len(m.Items) <= 500, "dossier_ids", "list 1 to 500 dossiers")
	probs.Check(len(m.SealNumber) <= maxSeal, "seal_number", "at most 50 characters")
	if err := probs.Err(); err != nil {
		return Manifest{}, err
	}
	sender := m.party(rule.from)
	if !canAct(p, sender) {
		return Manifest{}, domain.Errorf(domain.CodeForbidden, "you do not act for this %s", rule.from)
	}
	listed := make([]uuid.UUID, len(m.Items))
	for i, item := range m.Items {
		listed[i] = item.DossierID
	}
	open, err := s.store.OpenManifests(ctx, listed)
	if err != nil {
		return Manifest{}, err
	}
	seen := map[uuid.UUID]bool{}
	for i, item := range m.Items {
		field := fmt.Sprintf("dossier_ids[%d]", i)
		d, _, err := s.dossiers.Get(ctx, item.DossierID)
		_, ready := rule.events[d.State]
		switch {
		case domain.ErrorCode(err) == domain.CodeNotFound:
			probs.Add(field, "names no dossier")
		case err != nil:
			return Manifest{}, err
		case seen[d.ID]:
			probs.Add(field, "is listed twice")
		case d.Holder != sender || !ready:
			probs.Add(field, fmt.Sprintf("dossier %s is not waiting with the sender for this handover (it is %s)", d.Receipt, d.State))
		case open[d.ID] != uuid.Nil:
			probs.Add(field, fmt.Sprintf("dossier %s is already on manifest %s, not yet received", d.Receipt, open[d.ID]))
		case d.AgencyID != m.AgencyID || d.PostOfficeID != m.PostOfficeID || (rule.needsReturn && !d.Return):
			probs.Add(field, fmt.Sprintf("dossier %s does not travel between this post office and this agency", d.Receipt))
		}
		seen[item.DossierID] = true
		m.Items[i].Status = ItemSent
	}
	if err := probs.Err(); err != nil {
		return Manifest{}, err
	}
	now := s.now()
	m.ID, m.SentBy, m.SentAt, m.Version = s.newID(), p.AccountID, now, 1
	entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "manifest.send", ResourceKind: "manifest", ResourceID: m.ID.String(), Detail: map[string]any{"items": len(m.Items)}}
	err = s.store.CreateManifest(ctx, m, entry)
	if e, ok := domain.AsError(err); ok && e.Code == domain.CodeConflict {
		// Another batch listing one of these dossiers was sent meanwhile.
		return Manifest{}, domain.Errorf(domain.CodeConflict, "a dossier listed went on another open manifest meanwhile; reload and list again")
	}
	return m, err
}

// maxSeal is the longest seal number kept.
const maxSeal = 50

// Receipt is what the receiver of a manifest counted: the items by id or by the receipt
// code scanned off them, and the seal number read on the bag.
type Receipt struct {
	DossierIDs   []uuid.UUID
	ReceiptCodes []dossier.ReceiptCode
	SealRead     string
	Note         string
}

// ReceiveManifest records what the receiver counted: listed items received change hands,
// one custody entry each, in one transaction with the manifest; listed items not received
// are marked missing and stay with the sender; items received but not listed are marked
// extra and do not change hands. Either kind of difference is counted on the manifest.
func (s *Service) ReceiveManifest(ctx context.Context, id uuid.UUID, r Receipt) (Manifest, error) {
	p := auth.PrincipalFrom(ctx)
	m, err := s.store.GetManifest(ctx, id)
	if err != nil {
		return Manifest{}, err
	}
	rule := manifestRule[m.Direction]
	if !canAct(p, m.party(rule.to)) && !canAct(p, m.party(rule.from)) {
		return Manifest{}, domain.Errorf(domain.CodeNotFound, "no such manifest")
	}
	if !canAct(p, m.party(rule.to)) {
		return Manifest{}, domain.Errorf(domain.CodeForbidden, "only the receiving %s confirms a manifest", rule.to)
	}
	if m.ReceivedAt != nil {
		return Manifest{}, domain.Errorf(dossier.CodeInvalidTransition, "this manifest was already received")
	}
	received, err := s.counted(ctx, m, r)
	if err != nil {
		return Manifest{}, err
	}
	var listed []uuid.UUID
	for _, item := range m.Items {
		listed = append(listed, item.DossierID)
	}
	now := s.now()
	// What decisions read besides the rows is read before the transaction.
	decide, err := s.dossiers.PrepareBatch(ctx, listed, now)
	if err != nil {
		return Manifest{}, err
	}
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return Manifest{}, err
	}
	defer tx.Rollback()
	if m, err = tx.LockManifest(ctx, id); err != nil {
		return Manifest{}, err
	}
	// Lock in id order: two receipts locking overlapping sets cannot deadlock.
	ordered := slices.Clone(listed)
	slices.SortFunc(ordered, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	dossiers, tasks := map[uuid.UUID]dossier.Dossier{}, map[uuid.UUID][]dossier.Task{}
	for _, did := range ordered {
		if dossiers[did], tasks[did], err = tx.Lock(ctx, did); err != nil {
			return Manifest{}, err
		}
	}
	change, err := receive(m, r, received, dossiers, tasks, decide, p, now)
	if err != nil {
		return Manifest{}, err
	}
	for _, c := range change.Changes {
		if _, err := tx.Apply(ctx, c); err != nil {
			return Manifest{}, err
		}
	}
	if err := tx.WriteManifest(ctx, change.Manifest, change.Audit); err != nil {
		return Manifest{}, err
	}
	if err := tx.Commit(); err != nil {
		return Manifest{}, err
	}
	return change.Manifest, nil
}

// receive decides the receipt r of manifest m, as locked with its listed dossiers and
// their tasks: the items received change hands by decide, those listed and not received
// are missing, those received and not listed are extra, and a seal read that is not the
// one sent is one more discrepancy.
func receive(m Manifest, r Receipt, received []uuid.UUID, dossiers map[uuid.UUID]dossier.Dossier, tasks map[uuid.UUID][]dossier.Task,
	decide dossier.BatchDecision, p auth.Principal, now time.Time) (ReceiveChange, error) {
	if m.ReceivedAt != nil {
		return ReceiveChange{}, domain.Errorf(dossier.CodeInvalidTransition, "this manifest was already received")
	}
	rule := manifestRule[m.Direction]
	got := map[uuid.UUID]bool{}
	for _, id := range received {
		got[id] = true
	}
	var change ReceiveChange
	for i, item := range m.Items {
		if !got[item.DossierID] {
			m.Items[i].Status = ItemMissing
			m.Discrepancies++
			continue
		}
		delete(got, item.DossierID)
		d := dossiers[item.DossierID]
		in := dossier.EventInput{Event: rule.events[d.State], Version: d.Version, Proof: dossier.Proof{ManifestID: m.ID, SealNumber: strings.TrimSpace(r.SealRead)}}
		c, err := decide(d, tasks[d.ID], in)
		if err != nil {
			return ReceiveChange{}, fmt.Errorf("dossier %s: %w", d.Receipt, err)
		}
		m.Items[i].Status = ItemReceived
		change.Changes = append(change.Changes, c)
	}
	for _, extra := range received {
		if got[extra] {
			m.Items = append(m.Items, ManifestItem{DossierID: extra, Status: ItemExtra})
			m.Discrepancies++
			delete(got, extra)
		}
	}
	if !sameSeal(m.SealNumber, r.SealRead) {
		m.Discrepancies++ // the bag was opened or swapped on the way, or the seal misread
	}
	m.ReceivedBy, m.ReceivedAt, m.Note, m.SealRead, m.Version = p.AccountID, &now, r.Note, strings.TrimSpace(r.SealRead), m.Version+1
	change.Manifest = m
	change.Audit = audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "manifest.receive", ResourceKind: "manifest", ResourceID: m.ID.String(),
		Detail: map[string]any{"received": len(change.Changes), "discrepancies": m.Discrepancies}}
	return change, nil
}

// counted checks a receipt and turns it into the dossiers counted: the ids given and
// those the receipt codes scanned name, each once.
func (s *Service) counted(ctx context.Context, m Manifest, r Receipt) ([]uuid.UUID, error) {
	var probs domain.Problems
	probs.Check(len(r.DossierIDs)+len(r.ReceiptCodes) <= 1000, "dossier_ids", "at most 1000 dossiers in all")
	probs.Check(len(r.Note) <= 500, "note", "at most 500 characters")
	probs.Check(len(r.SealRead) <= maxSeal, "seal_number", "at most 50 characters")
	probs.Check(m.SealNumber == "" || strings.TrimSpace(r.SealRead) != "", "seal_number", "read the seal number on the bag: this batch was sealed")
	if err := probs.Err(); err != nil {
		return nil, err
	}
	received := slices.Clone(r.DossierIDs)
	for i, code := range r.ReceiptCodes {
		field := fmt.Sprintf("receipt_codes[%d]", i)
		norm, err := dossier.ParseReceiptCode(string(code))
		if err != nil {
			probs.Add(field, "is not a receipt code")
			continue
		}
		d, _, err := s.dossiers.GetByReceipt(ctx, norm)
		switch {
		case domain.ErrorCode(err) == domain.CodeNotFound:
			probs.Add(field, "names no dossier")
		case err != nil:
			return nil, err
		default:
			received = append(received, d.ID)
		}
	}
	slices.SortFunc(received, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return slices.Compact(received), probs.Err()
}

// sameSeal compares the seal sent with the seal read, as people write them.
func sameSeal(sent, read string) bool {
	return strings.EqualFold(strings.TrimSpace(sent), strings.TrimSpace(read))
}

// GetManifest returns a manifest whose sender or receiver the caller acts for.
func (s *Service) GetManifest(ctx context.Context, id uuid.UUID) (Manifest, error) {
	p := auth.PrincipalFrom(ctx)
	m, err := s.store.GetManifest(ctx, id)
	if err != nil {
		return Manifest{}, err
	}
	if !canAct(p, m.party(dossier.PartyAgency)) && !canAct(p, m.party(dossier.PartyPostOffice)) {
		return Manifest{}, domain.Errorf(domain.CodeNotFound, "no such manifest")
	}
	return m, nil
}

// ListManifests lists the manifests of the caller's post offices or agency.
func (s *Service) ListManifests(ctx context.Context, f ManifestFilter, page domain.Page) (domain.List[Manifest], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Manifest]{}, err
	}
	if !auth.ScopeOf(auth.PrincipalFrom(ctx)).Narrow(&f.PostOfficeIDs, nil, &f.AgencyID) {
		return domain.List[Manifest]{Items: []Manifest{}}, nil
	}
	return s.store.ListManifests(ctx, f, page)
}

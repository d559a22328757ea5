package dossier

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/pii"
)

// Codes of the dossier rules.
const (
	CodeAttemptsExhausted domain.Code = "ATTEMPTS_EXHAUSTED"
	// CodeNotInBag: a handover at the post office of something the reporter does not carry.
	CodeNotInBag domain.Code = "NOT_IN_BAG"
)

// EventRecord is one line of a dossier's history, the source of its timeline.
type EventRecord struct {
	DossierID uuid.UUID
	At        time.Time
	Event     Event
	From, To  State
	ActorRole string
	Note      string // a failure reason or the agency's reason for refusing: no personal data
}

// Filter narrows a dossier list; zero fields do not filter.
type Filter struct {
	State          State
	PostOfficeIDs  []uuid.UUID
	AgencyID       uuid.UUID
	CourierID      uuid.UUID // dossiers with a stop assigned to, or held by, this courier
	Holder         *Party
	Receipt        ReceiptCode
	PortalRef      string
	PhoneIndex     string // a citizen's dossiers
	DeadlineFrom   time.Time
	DeadlineTo     time.Time
	DeadlineNotNil bool
}

// Sealed is the applicant's citizen ID as stored.
type Sealed struct {
	CitizenID      string // pii.Keyring.Seal output
	CitizenIDIndex string // blind index, to find a dossier by ID number without decrypting
	PhoneIndex     string // blind index of the phone, by which a citizen's session names them
}

// Change is everything one event writes, in one transaction.
type Change struct {
	Dossier Dossier
	Tasks   []Task
	Custody []CustodyEntry // the handovers, in order (a fact at the door may imply one)
	Record  EventRecord
	Audit   audit.Entry
	Jobs    []Job
	// SlotClaim: a stop took a place in a slot, which must not be full.
	SlotClaim *SlotClaim
	// Feed is what the change means to couriers' devices, by courier.
	Feed map[uuid.UUID][]FeedChange
	// Flags: what the event raised for the dispatcher (see fieldFlags).
	Flags []Flag
}

// Writer is what a transaction that changes dossiers offers: every area whose
// transaction changes a dossier (a device's push, a plan's publication) embeds it in the
// transaction interface it declares, and storage implements them all over one transaction.
type Writer interface {
	// Lock locks the dossier's row until the transaction ends and reads it with its tasks.
	Lock(ctx context.Context, id uuid.UUID) (Dossier, []Task, error)
	// Apply writes a change decided on a dossier Lock read: the dossier, the tasks the
	// change touched (those equal to what Lock read are not written), the slot claimed,
	// the custody entries, the history line, the audit entry, the feed and the flags; its
	// jobs are inserted with the transaction's others before it commits. A refusal (SLOT_FULL,
	// CONFLICT) may leave the transaction unusable, unless the transaction says otherwise
	// (a push's takes each change behind a savepoint and goes on after a refused one).
	Apply(ctx context.Context, c Change) (Dossier, error)
}

// Tx is a transaction on dossiers. Rollback after Commit does nothing, so that
// `defer tx.Rollback()` ends every path.
type Tx interface {
	Writer
	// CountMiss counts a wrong code or ID digits at the door (guess, a keyed hash)
	// against the trip of dossier id whose code is sealed, once however often the same
	// guess is sent.
	CountMiss(ctx context.Context, id uuid.UUID, sealed, guess string) error
	// WriteSealed replaces a dossier's sealed values was (as Lock read them) with now; the
	// misses counted under the trip's sealed code move with it.
	WriteSealed(ctx context.Context, was, now SealedValues) error
	Commit() error
	Rollback()
}

// ApplyIn locks dossier id in w, runs decide on it and applies the change: one dossier
// event inside a caller's transaction.
func ApplyIn(ctx context.Context, w Writer, id uuid.UUID, decide Decision) (Dossier, error) {
	d, tasks, err := w.Lock(ctx, id)
	if err != nil {
		return Dossier{}, err
	}
	change, err := decide(d, tasks)
	if err != nil {
		return Dossier{}, err
	}
	return w.Apply(ctx, change)
}

// Snapshot is a dossier with its tasks, as read together.
type Snapshot struct {
	Dossier Dossier
	Tasks   []Task
}

// Store is the persistence port of dossiers. Errors: NOT_FOUND for unknown ids; CONFLICT
// when a receipt code is taken (the caller draws another).
type Store interface {
	// Create writes a new dossier with its tasks and, when it is born in the post's hands,
	// the first entry of its ledger.
	Create(ctx context.Context, d Dossier, sealed Sealed, tasks []Task, custody *CustodyEntry, record EventRecord, entry audit.Entry) error
	Get(ctx context.Context, id uuid.UUID) (Dossier, []Task, error)
	// GetMany reads the dossiers of ids with their tasks; unknown ids are left out.
	GetMany(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Snapshot, error)
	GetByReceipt(ctx context.Context, code ReceiptCode) (Dossier, []Task, error)
	List(ctx context.Context, f Filter, page domain.Page) (domain.List[Dossier], error)
	// Begin starts a transaction that changes dossiers (see Tx).
	Begin(ctx context.Context) (Tx, error)
	Custody(ctx context.Context, id uuid.UUID) ([]CustodyEntry, error)
	History(ctx context.Context, id uuid.UUID) ([]EventRecord, error)
	ListTasks(ctx context.Context, f TaskFilter, page domain.Page) (domain.List[Task], error)
	Task(ctx context.Context, id uuid.UUID) (Task, error)
	// Tasks reads the stops with ids; unknown ones are left out.
	Tasks(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Task, error)
	// SealedValues reads, without locks, the sealed values of at most limit dossiers
	// whose ids follow after, in id order.
	SealedValues(ctx context.Context, after uuid.UUID, limit int) ([]SealedValues, error)
	// OpenManifests names, for each dossier given that is listed on a manifest not yet
	// received, that manifest: such a dossier changes hands with its batch only.
	OpenManifests(ctx context.Context, dossiers []uuid.UUID) (map[uuid.UUID]uuid.UUID, error)
	// Flags reads the flags that events wrote (Change.Flags), newest first.
	Flags(ctx context.Context, f FlagFilter, page domain.Page) (domain.List[Flag], error)
	// Preference is the applicant's messaging choice, which every notice reads:
	// PreferAny, and messaged, for one who never chose.
	Preference(ctx context.Context, phoneIndex string) (Preference, error)
	// ChainsToCheck names the dossiers whose ledger gained an entry since then, and those
	// of slice (of slices, fixed by the dossier's id) whose ledger holds any.
	ChainsToCheck(ctx context.Context, since time.Time, slice, slices int) ([]uuid.UUID, error)
	RecordCustodyCheck(ctx context.Context, check CustodyCheck) error
}

// Service is the dossier area's rules.
type Service struct {
	store    Store
	notifier Notifier
	catalog  *catalog.Catalog
	keys     *pii.Keyring
	cfg      ClockConfig
	now      func() time.Time
	random   io.Reader
	newID    func() uuid.UUID
}

func NewService(store Store, cat *catalog.Catalog, keys *pii.Keyring, notifier Notifier, cfg ClockConfig, now func() time.Time, random io.Reader, newID func() uuid.UUID) *Service {
	// Times go into hashes and come back from PostgreSQL in microseconds: cut them there
	// at once, or a chain read back would not match the one written.
	micro := func() time.Time { return now().Truncate(time.Microsecond) }
	return &Service{store: store, notifier: notifier, catalog: cat, keys: keys, cfg: cfg, now: micro, random: random, newID: newID}
}

// system is a context in which the catalog answers internal lookups in full.
func system(ctx context.Context) context.Context { return auth.WithPrincipal(ctx, auth.System) }

// calendar covers the dates a dossier's deadlines can reach from now.
func (s *Service) calendar(ctx context.Context) (catalog.Calendar, error) {
	now := s.now()
	return s.catalog.Calendar(system(ctx), now.AddDate(0, -1, 0), now.AddDate(2, 0, 0))
}

// Create opens a dossier for a procedure, with its field tasks. A clerk opens dossiers
// for their own agency; a dispatcher for their own post offices.
func (s *Service) Create(ctx context.Context, n NewDossier) (Dossier, error) {
	p := auth.PrincipalFrom(ctx)
	if p.AgencyBound() && n.AgencyID == uuid.Nil {
		n.AgencyID = p.AgencyID
	}
	if err := n.validate(); err != nil {
		return Dossier{}, err
	}
	proc, agency, office, err := s.references(ctx, &n)
	if err != nil {
		return Dossier{}, err
	}
	var probs domain.Problems
	probs.Check(!p.AgencyBound() || n.AgencyID == p.AgencyID, "agency_id", "you can open dossiers only for your own agency")
	probs.Check(p.Role != auth.RoleDispatcher || p.PlansFor(office.ID), "post_office_id", "is not one of your post offices")
	probs.Check(!n.Pickup || proc.PickupByPost, "pickup", "this procedure does not accept dossiers by post")
	probs.Check(!n.Return || proc.ReturnByPost, "return", "this procedure does not return results by post")
	probs.Check(agency.Kind == proc.AgencyKind, "agency_id", fmt.Sprintf("this procedure is settled by a %s agency", proc.AgencyKind))
	if err := probs.Err(); err != nil {
		return Dossier{}, err
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return Dossier{}, err
	}
	now := s.now()
	d := Dossier{ID: s.newID(), ProcedureID: proc.ID, AgencyID: agency.ID, PostOfficeID: office.ID, Applicant: n.Applicant,
		Pickup: n.Pickup, Return: n.Return, FeeVND: proc.FeeVND, PostageVND: proc.PostageVND, Payment: n.Payment,
		Channel: channelOf(p, n), PortalRef: n.PortalRef, OutsideServiceArea: !office.Serves(n.Applicant.Location),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	d.Applicant.CitizenIDTail = n.Applicant.CitizenID[len(n.Applicant.CitizenID)-3:]
	d.Applicant.PhoneIndex = s.keys.Index(n.Applicant.Phone)
	d.Applicant.CitizenID = ""
	if d.Payment == "" {
		d.Payment = defaultPayment(d)
	}
	if d.FeeVND > 0 && !oneOf(d.Payment, PayOnline, PayNothingDue) {
		// The post takes the agency's fee from the applicant, and charges for doing so.
		d.SurchargeVND = proc.CollectionSurchargeVND
	}
	var lodged *CustodyEntry
	switch {
	case n.Pickup:
		d.State, d.Holder, d.PickupDue = StateRequested, Party{PartyApplicant, d.ID}, ptr(cal.AddWorkingDays(now.In(domain.Vietnam), s.cfg.PickupLegDays))
	case d.Channel == ChannelCounter:
		// Handed in at the post office's counter: the office holds it, the first entry of
		// its ledger says so, and it reaches the agency by a manifest or at the desk
		// within the same leg as a pickup.
		d.State, d.PickupDue = StateAtPostOffice, ptr(cal.AddWorkingDays(now.In(domain.Vietnam), s.cfg.PickupLegDays))
		if lodged, err = s.lodge(p, &d, now); err != nil {
			return Dossier{}, err
		}
	default:
		// Lodged at the agency's desk: the agency has it, and the legal clock starts now.
		d.State, d.Holder = StateHandedToAgency, Party{PartyAgency, agency.ID}
		d.ReceivedAt, d.AppointmentDate = &now, ptr(cal.AddWorkingDays(now.In(domain.Vietnam), proc.ProcessingDays))
	}
	sealed, err := s.keys.Seal(n.Applicant.CitizenID, d.ID.String())
	if err != nil {
		return Dossier{}, err
	}
	tasks := s.initialTasks(d, now)
	record := EventRecord{DossierID: d.ID, At: now, Event: eventCreated, To: d.State, ActorRole: string(p.Role)}
	for attempt := 0; ; attempt++ {
		if d.Receipt, err = NewReceiptCode(s.random); err != nil {
			return Dossier{}, err
		}
		entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
			Action: "dossier.create", ResourceKind: "dossier", ResourceID: d.ID.String(), Detail: map[string]any{"state": d.State}}
		err = s.store.Create(ctx, d, Sealed{CitizenID: sealed, CitizenIDIndex: s.keys.Index(n.Applicant.CitizenID), PhoneIndex: d.Applicant.PhoneIndex}, tasks, lodged, record, entry)
		// A taken receipt code is astronomically rare; draw again rather than fail.
		if e, ok := domain.AsError(err); !ok || e.Code != domain.CodeConflict || len(e.Fields) != 1 ||
			e.Fields[0].Field != "receipt_code" || attempt == 3 {
			break
		}
	}
	return d, err
}

func ptr[T any](v T) *T { return &v }

// lodge is the first custody entry of a dossier handed in at the counter, by whoever
// records it there; the dossier holds the office and the ledger's head from then on.
func (s *Service) lodge(p auth.Principal, d *Dossier, now time.Time) (*CustodyEntry, error) {
	applicant := Party{PartyApplicant, d.ID}
	d.Holder = applicant
	m, err := handover(p, *d, EventInput{Event: EventLodge}, nil)
	if err != nil {
		return nil, err
	}
	entry := CustodyEntry{DossierID: d.ID, Seq: 1, Item: itemOf(d.State), From: applicant, To: m.to, Event: EventLodge,
		ServerTime: now, ActorID: p.AccountID}
	entry.Hash = entry.ComputeHash()
	d.Holder, d.CustodyCount, d.CustodyHead = m.to, 1, entry.Hash
	return &entry, nil
}

// channelOf is where n came from: a portal's dossier by its reference (the portal's
// webhook, or staff relaying its backlog in a batch), a clerk's from the desk.
func channelOf(p auth.Principal, n NewDossier) Channel {
	switch asked := n.Channel; {
	case asked == ChannelPortal && n.PortalRef != "":
		return ChannelPortal
	case p.Role == auth.RoleClerk:
		return ChannelClerk
	case asked == ChannelCounter:
		return ChannelCounter
	}
	return ChannelDispatcher
}

func defaultPayment(d Dossier) PaymentMethod {
	switch {
	case d.DueVND() == 0:
		return PayNothingDue
	case d.Pickup:
		return PayCashToCourier
	}
	return PayAtCounter
}

// initialTasks are the field stops a new dossier needs.
func (s *Service) initialTasks(d Dossier, now time.Time) []Task {
	var kinds []TaskKind
	if d.Pickup {
		kinds = append(kinds, TaskPickup)
	}
	if d.State == StateRequested || d.State == StateAtPostOffice {
		kinds = append(kinds, TaskDropoff)
	}
	if d.Return {
		kinds = append(kinds, TaskCollection, TaskDelivery)
	}
	tasks := make([]Task, len(kinds))
	for i, k := range kinds {
		tasks[i] = Task{ID: s.newID(), DossierID: d.ID, PostOfficeID: d.PostOfficeID, Kind: k, State: TaskOpen, Version: 1, UpdatedAt: now}
	}
	return tasks
}

// references loads and checks what a new dossier points at, naming the field at fault.
func (s *Service) references(ctx context.Context, n *NewDossier) (catalog.Procedure, catalog.Agency, catalog.PostOffice, error) {
	sys := system(ctx)
	var probs domain.Problems
	proc, err := s.catalog.Procedures.Get(sys, n.ProcedureID.String())
	if err := missing(&probs, err, "procedure_id", "names no procedure"); err != nil {
		return proc, catalog.Agency{}, catalog.PostOffice{}, err
	}
	agency, err := s.catalog.Agencies.Get(sys, n.AgencyID.String())
	if err := missing(&probs, err, "agency_id", "names no agency"); err != nil {
		return proc, agency, catalog.PostOffice{}, err
	}
	// An address given with a unit's old code is in today's unit: the dossier records that.
	unit, err := s.catalog.ResolveAdminUnit(sys, n.Applicant.AdminUnitCode)
	if err := missing(&probs, err, "applicant.admin_unit_code", "names no administrative unit"); err != nil {
		return proc, agency, catalog.PostOffice{}, err
	}
	if err == nil {
		n.Applicant.AdminUnitCode = unit.Code
	}
	var office catalog.PostOffice
	if n.PostOfficeID != uuid.Nil {
		office, err = s.catalog.PostOffices.Get(sys, n.PostOfficeID.String())
		if err := missing(&probs, err, "post_office_id", "names no post office"); err != nil {
			return proc, agency, office, err
		}
	} else if office, err = s.officeServing(sys, n.Applicant.Location); err != nil {
		return proc, agency, office, err
	}
	return proc, agency, office, probs.Err()
}

func missing(p *domain.Problems, err error, field, reason string) error {
	if domain.ErrorCode(err) == domain.CodeNotFound {
		p.Add(field, reason)
		return nil
	}
	return err
}

// officeServing finds the post office whose service area holds pt, through the catalog's
// spatial index (the first office by code where areas overlap).
func (s *Service) officeServing(ctx context.Context, pt orb.Point) (catalog.PostOffice, error) {
	office, ok, err := s.catalog.OfficeServing(ctx, pt)
	if err == nil && !ok {
		err = domain.Invalid("post_office_id", "no post office serves this address; name the one that will")
	}
	return office, err
}

// PortalDossier is what a public-service portal sends: catalog codes, as portals know
// them, instead of courierd's ids.
type PortalDossier struct {
	NewDossier
	ProcedureCode string
	AgencyCode    string
}

// CreateFromPortal opens a dossier a portal sent. The portal's reference makes it
// idempotent: a retry answers the dossier already opened (and false for "created").
// resultRecorded are the states a dossier reaches once its result is ready.
var resultRecorded = []State{StateResultReady, StateResultAtPostOffice, StateOutForDelivery, StateDelivered, StateDeliveryFailed,
	StateRedeliveryScheduled, StateHeldAtPostOffice, StateReturnedToAgency}

// ResultFromPortal records that the agency's result for the portal's dossier ref is
// ready, as the portal reports it. A report repeated, or arriving after the result was
// already recorded (by the clerk, or by an earlier report), changes nothing and answers
// the dossier as it is; a dossier the agency has not received yet cannot have a result.
func (s *Service) ResultFromPortal(ctx context.Context, ref string) (Dossier, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleSystem, Source: "portal"})
	if ref == "" {
		return Dossier{}, domain.Invalid("portal_ref", "is required: the portal's own reference of the dossier")
	}
	list, err := s.store.List(ctx, Filter{PortalRef: ref}, domain.Page{Limit: 1})
	if err != nil {
		return Dossier{}, err
	}
	if len(list.Items) == 0 {
		return Dossier{}, domain.Errorf(domain.CodeNotFound, "no dossier has this portal reference")
	}
	d := list.Items[0]
	if d.State != StateInProcessing && d.State != StateHandedToAgency {
		if slices.Contains(resultRecorded, d.State) {
			return d, nil
		}
		return Dossier{}, domain.Errorf(CodeInvalidTransition, "a dossier that is %s cannot have a result yet", d.State)
	}
	if d.State == StateHandedToAgency {
		// The portal speaks for the agency: a result implies it accepted the dossier.
		if d, err = s.Apply(ctx, d.ID, EventInput{Event: EventAgencyAccept, Version: d.Version}); err != nil {
			return Dossier{}, err
		}
	}
	return s.Apply(ctx, d.ID, EventInput{Event: EventResultReady, Version: d.Version})
}

func (s *Service) CreateFromPortal(ctx context.Context, in PortalDossier) (Dossier, bool, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleSystem, Source: "portal"})
	var p domain.Problems
	p.Check(in.PortalRef != "", "portal_ref", "is required: the portal's own reference of the dossier")
	if err := p.Err(); err != nil {
		return Dossier{}, false, err
	}
	procs, err := s.catalog.Procedures.List(ctx, catalog.ProcedureFilter{Code: in.ProcedureCode}, domain.Page{Limit: 1})
	if err != nil {
		return Dossier{}, false, err
	}
	agencies, err := s.catalog.Agencies.List(ctx, catalog.AgencyFilter{Code: in.AgencyCode}, domain.Page{Limit: 1})
	if err != nil {
		return Dossier{}, false, err
	}
	p.Check(in.ProcedureCode != "" && len(procs.Items) == 1, "procedure_code", "names no procedure in the catalog")
	p.Check(in.AgencyCode != "" && len(agencies.Items) == 1, "agency_code", "names no agency in the catalog")
	if err := p.Err(); err != nil {
		return Dossier{}, false, err
	}
	n := in.NewDossier
	n.ProcedureID, n.AgencyID = procs.Items[0].ID, agencies.Items[0].ID
	return s.createOnce(ctx, n)
}

// Get returns a dossier the caller may see; any other answers NOT_FOUND.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Dossier, []Task, error) {
	d, tasks, err := s.store.Get(ctx, id)
	return shown(ctx, d, tasks, err)
}

// GetByReceipt returns, by its receipt code, a dossier the caller may see; any other
// answers NOT_FOUND.
func (s *Service) GetByReceipt(ctx context.Context, code ReceiptCode) (Dossier, []Task, error) {
	d, tasks, err := s.store.GetByReceipt(ctx, code)
	return shown(ctx, d, tasks, err)
}

// shown is a dossier as read, for the caller: redacted for them, or NOT_FOUND when they
// may not see it.
func shown(ctx context.Context, d Dossier, tasks []Task, err error) (Dossier, []Task, error) {
	if err != nil {
		return Dossier{}, nil, err
	}
	p := auth.PrincipalFrom(ctx)
	if !visible(p, d, tasks) {
		return Dossier{}, nil, domain.Errorf(domain.CodeNotFound, "no such dossier")
	}
	return redact(p, d), tasks, nil
}

// redact hides from couriers the ID number's last digits that others see masked: the
// door accepts the ID card's last four, and a courier who knew three would guess one.
func redact(p auth.Principal, d Dossier) Dossier {
	if p.Role == auth.RoleCourier {
		d.Applicant.CitizenIDTail = ""
	}
	return d
}

// visible is the dossier policy: admins see all; dispatchers their post offices'; clerks
// their agency's; couriers those with a stop of theirs or in their bag.
func visible(p auth.Principal, d Dossier, tasks []Task) bool {
	s := auth.ScopeOf(p)
	if courier, ok := s.Courier(); ok {
		return d.Holder == (Party{PartyCourier, courier}) || slices.ContainsFunc(tasks, func(t Task) bool { return t.CourierID == courier })
	}
	return s.SeesOffice(d.PostOfficeID) || s.SeesAgency(d.AgencyID) || s.IsApplicant(d.Applicant.PhoneIndex)
}

// narrow restricts a filter to what p may see, or reports p may see nothing.
func narrow(p auth.Principal, f *Filter) bool {
	s := auth.ScopeOf(p)
	offices, byOffice := s.PostOffices()
	agency, byAgency := s.Agency()
	courier, byCourier := s.Courier()
	phone, byPhone := s.Applicant()
	switch {
	case byOffice && f.PostOfficeIDs == nil:
		f.PostOfficeIDs = offices
	case byOffice:
		f.PostOfficeIDs = slices.DeleteFunc(slices.Clone(f.PostOfficeIDs), func(id uuid.UUID) bool { return !s.SeesOffice(id) })
	case byAgency:
		f.AgencyID = agency
	case byCourier:
		f.CourierID = courier
	case byPhone:
		f.PhoneIndex = phone
	default:
		return s.All()
	}
	return true
}

// List lists the dossiers the caller may see; due narrows to deadlines today, overdue or
// at risk.
func (s *Service) List(ctx context.Context, f Filter, due Due, page domain.Page) (domain.List[Dossier], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Dossier]{}, err
	}
	if !narrow(auth.PrincipalFrom(ctx), &f) {
		return domain.List[Dossier]{Items: []Dossier{}}, nil
	}
	if due != "" {
		if !oneOf(due, DueToday, DueOverdue, DueAtRisk) {
			return domain.List[Dossier]{}, domain.Invalid("due", "must be today, overdue or at_risk")
		}
		cal, err := s.calendar(ctx)
		if err != nil {
			return domain.List[Dossier]{}, err
		}
		f.DeadlineFrom, f.DeadlineTo = DueRange(due, s.now(), cal, s.cfg)
		f.DeadlineNotNil = true
	}
	list, err := s.store.List(ctx, f, page)
	for i := range list.Items {
		list.Items[i] = redact(auth.PrincipalFrom(ctx), list.Items[i])
	}
	return list, err
}

// Custody returns the ledger of a dossier the caller may see.
func (s *Service) Custody(ctx context.Context, id uuid.UUID) ([]CustodyEntry, error) {
	if _, _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.store.Custody(ctx, id)
}

// Verify checks a dossier's custody chain, and that it ends with whoever the dossier
// says holds the item.
func (s *Service) Verify(ctx context.Context, id uuid.UUID) (Verification, error) {
	d, _, err := s.Get(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	entries, err := s.store.Custody(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	v := VerifyChain(entries, d.CustodyCount, d.CustodyHead)
	if v.Intact {
		v = v.endsWith(entries, d)
	}
	return v, nil
}

// History is the dossier's events, oldest first.
func (s *Service) History(ctx context.Context, id uuid.UUID) ([]EventRecord, error) {
	d, tasks, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.HistoryOf(ctx, d, tasks)
}

// HistoryOf is the history of a dossier already read with its tasks, for a caller who may
// see it (NOT_FOUND otherwise): a caller holding the dossier does not read it again.
func (s *Service) HistoryOf(ctx context.Context, d Dossier, tasks []Task) ([]EventRecord, error) {
	if _, _, err := shown(ctx, d, tasks, nil); err != nil {
		return nil, err
	}
	return s.store.History(ctx, d.ID)
}

// Holdings lists what a party holds now: a courier's bag, a post office's shelves. A
// courier may ask only for their own bag; a dispatcher for their offices and couriers.
func (s *Service) Holdings(ctx context.Context, holder Party, page domain.Page) (domain.List[Dossier], error) {
	var err error
	switch holder.Kind {
	case PartyCourier:
		// The courier policy answers NOT_FOUND for couriers the caller may not see.
		_, err = s.catalog.Couriers.Get(ctx, holder.ID.String())
	case PartyPostOffice:
		err = s.ownOffice(ctx, holder.ID)
	}
	if err != nil {
		return domain.List[Dossier]{}, err
	}
	return s.List(ctx, Filter{Holder: &holder}, "", page)
}

// ownOffice answers NOT_FOUND for a post office the caller does not plan for, or that
// does not exist: a list under it would say nothing, which an empty list does not say.
func (s *Service) ownOffice(ctx context.Context, office uuid.UUID) error {
	if !auth.ScopeOf(auth.PrincipalFrom(ctx)).SeesOffice(office) {
		return domain.Errorf(domain.CodeNotFound, "no such post office")
	}
	_, err := s.catalog.PostOffices.Get(system(ctx), office.String())
	return err
}

// TasksByID finds stops whoever asks, in one read: for a device's batch of reports,
// whose reporter may no longer be a stop's assignee, so that the answer can say what
// became of it. Unknown ids are left out.
func (s *Service) TasksByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Task, error) {
	return s.store.Tasks(ctx, ids)
}

// ListTasks lists the field stops the caller may see.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter, page domain.Page) (domain.List[Task], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Task]{}, err
	}
	if !auth.ScopeOf(auth.PrincipalFrom(ctx)).Narrow(&f.PostOfficeIDs, &f.CourierID, nil) {
		return domain.List[Task]{Items: []Task{}}, nil
	}
	return s.store.ListTasks(ctx, f, page)
}

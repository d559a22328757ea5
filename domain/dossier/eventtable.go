package dossier

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// EventRule is everything one dossier event is and does, declared once in eventRules:
// who reports it, what it takes, how it moves the dossier, its stop and the item, the
// dates it sets, what the applicant is told and how their timeline says it. check,
// Next, decide, the custody ledger, the clocks and the notices all read the row; what
// cannot be data is a small named step the row points to.
type EventRule struct {
	// By: the roles that may report it; for a handover, those that record it, each acting
	// for one side (or an admin). A courier reports only on their own stops; applicants act
	// through their own choices (BookPickup, CancelPickup, ChooseDelivery).
	By []auth.Role
	// Needs: the fields it requires; Takes: those it accepts besides. A field that only
	// some events take is refused on any other (see fieldRules).
	Needs, Takes []Field
	// Note, when set, requires a note and says what it must tell.
	Note string
	// Moves: its transitions, from a state to a state; in any other state it is refused
	// with INVALID_TRANSITION. Together the rows are the whole dossier state machine.
	Moves map[State]State
	// Task: the field stop it moves, and by which task event (zero: none).
	Task TaskMove
	// Custody: the handover it is (nil: it moves nothing). Custody entries are facts:
	// decisions (planning, assigning, scheduling, holding, an applicant's choice, a timer)
	// move nothing.
	Custody *CustodyRule
	// Implies: the handover a fact at the door proves happened (see ImpliedHandovers).
	Implies Event
	// BagFirst: the reporter's bag is checked before the state, so that handing in twice,
	// or what another courier carries, is "not in your bag" whatever the state says.
	BagFirst bool
	// AtDoor: it is recorded at the applicant's door, where the address is the place to
	// judge a fix against.
	AtDoor bool
	// Clock: the date it starts or ends, or the count it moves (see advanceClock).
	Clock ClockEffect
	// Notice: what the applicant is told, when NoticeIf (nil: always) says so. Subscribers
	// hear of every event.
	Notice   Notice
	NoticeIf func(Dossier) bool
	// Words: how the applicant's timeline says it.
	Words words

	// guard runs before the transaction, once what deciding reads has been read.
	guard func(s *Service, ctx context.Context, p auth.Principal, d Dossier, tasks []Task, in EventInput, now time.Time) error
	// refuse runs with the dossier locked, once custody is decided, before anything changes.
	refuse func(c *deciding) error
	// apply makes the changes the table cannot say, before the stop moves.
	apply func(c *deciding) error
	// holdIf: after the event, the result is held at the counter instead of where the
	// event's move left it.
	holdIf func(c *deciding) bool
}

// TaskMove is which field stop an event moves, and how.
type TaskMove struct {
	Kind  TaskKind
	Event TaskEvent
}

// takes reports whether the event accepts f.
func (r EventRule) takes(f Field) bool {
	return slices.Contains(r.Needs, f) || slices.Contains(r.Takes, f)
}

// staff who plan and decide at the post office.
var planners = []auth.Role{auth.RoleDispatcher, auth.RoleAdmin}

// eventRules is every dossier event, one row each, in the order of Events.
var eventRules = map[Event]EventRule{
	EventSchedulePickup: {By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
		Needs: []Field{FieldDate}, Takes: []Field{FieldSlot},
		Moves: map[State]State{
			StateRequested: StateScheduled,
			StateScheduled: StateScheduled, // moved to another day
			StateAssigned:  StateScheduled,
		},
		Task: TaskMove{TaskPickup, TaskEventSchedule}, Notice: NoticePickupScheduled,
		Words: words{"Đã hẹn ngày đến nhận hồ sơ", "A day was set to collect your papers"}},
	EventAssignPickup: {By: planners, Needs: []Field{FieldCourier},
		Moves: map[State]State{
			StateRequested: StateAssigned,
			StateScheduled: StateAssigned,
			StateAssigned:  StateAssigned, // reassigned to another courier
		},
		Task:  TaskMove{TaskPickup, TaskEventAssign},
		Words: words{"Bưu tá đã được giao nhận hồ sơ của bạn", "A postal worker was assigned to collect your papers"}},
	EventSetOut: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
		Moves: map[State]State{StateAssigned: StateAssigned},
		Task:  TaskMove{TaskPickup, TaskEventStart}, Notice: NoticePickupOnTheWay,
		Words: words{"Bưu tá đang trên đường đến nhận hồ sơ", "A postal worker is on the way to collect your papers"}},
	EventPickUp: {Takes: []Field{FieldDocuments},
		Moves: map[State]State{StateAssigned: StatePickedUp},
		Task:  TaskMove{TaskPickup, TaskEventComplete}, AtDoor: true,
		Custody: &CustodyRule{From: []PartyKind{PartyApplicant}, To: PartyCourier, Witness: "the applicant's signature on the receipt"},
		By:      []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
		Words:   words{"Bưu tá đã nhận hồ sơ tại địa chỉ của bạn", "Your papers were collected from your address"}},
	EventPickupFailed: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin}, Needs: []Field{FieldReason},
		Moves: map[State]State{StateAssigned: StateRequested},
		Task:  TaskMove{TaskPickup, TaskEventFail}, AtDoor: true,
		Words: words{"Chưa nhận được hồ sơ; bưu điện sẽ hẹn lại", "Your papers could not be collected; the post office will arrange another visit"}},
	EventArrivePostOffice: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
		Moves: map[State]State{
			StatePickedUp: StateAtPostOffice,
			// A result a courier collected at the agency is in their bag until they hand it
			// in at the counter, or set out with it.
			StateResultAtPostOffice: StateResultAtPostOffice,
			// A courier brings back a result whose applicant asked for another day meanwhile.
			StateRedeliveryScheduled: StateRedeliveryScheduled,
			// A result held after its last failed attempt is still in the courier's bag
			// until the courier brings it back.
			StateHeldAtPostOffice: StateHeldAtPostOffice,
		},
		Custody:  &CustodyRule{From: []PartyKind{PartyCourier}, To: PartyPostOffice, Witness: "the counter's staff, by name and signature"},
		BagFirst: true, holdIf: counterChosen,
		Words: words{"Hồ sơ đã về bưu cục", "Your papers reached the post office"}},
	EventHandToAgency: {By: []auth.Role{auth.RoleDispatcher, auth.RoleClerk, auth.RoleAdmin},
		Moves: map[State]State{
			StatePickedUp:     StateHandedToAgency, // a courier may take it straight to the agency
			StateAtPostOffice: StateHandedToAgency,
		},
		Task: TaskMove{TaskDropoff, TaskEventComplete},
		Custody: &CustodyRule{From: []PartyKind{PartyPostOffice, PartyCourier}, To: PartyAgency,
			Witness: "the agency's clerk: a manifest's receipt or the desk"},
		Clock: ClockReceived, Notice: NoticeHandedToAgency, guard: notOnManifest,
		Words: words{"Hồ sơ đã được chuyển đến cơ quan giải quyết", "Your papers were handed to the agency"}},
	EventAgencyAccept: {By: []auth.Role{auth.RoleClerk, auth.RoleAdmin, auth.RoleSystem}, // the system: a portal speaking for the agency
		Moves: map[State]State{StateHandedToAgency: StateInProcessing},
		Words: words{"Cơ quan đã tiếp nhận và đang giải quyết hồ sơ", "The agency accepted your application and is processing it"}},
	EventAgencyReject: {By: []auth.Role{auth.RoleClerk, auth.RoleAdmin}, Note: "say what the dossier lacks, for the applicant",
		Moves: map[State]State{
			StateHandedToAgency: StateRejectedIncomplete,
			StateInProcessing:   StateRejectedIncomplete, // a gap found while processing
		},
		Clock: ClockRejected, Notice: NoticeResultReady, NoticeIf: returnsByPost,
		Words: words{"Hồ sơ chưa đầy đủ; hồ sơ sẽ được trả lại cho bạn", "Your application is incomplete; your papers will be returned to you"}},
	EventResultReady: {By: []auth.Role{auth.RoleClerk, auth.RoleAdmin, auth.RoleSystem},
		Moves: map[State]State{StateInProcessing: StateResultReady},
		Clock: ClockResultReady, Notice: NoticeResultReady, NoticeIf: returnsByPost,
		Words: words{"Đã có kết quả giải quyết", "The result of your application is ready"}},
	EventCollectResult: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleClerk, auth.RoleAdmin},
		Moves: map[State]State{
			StateRejectedIncomplete: StateResultAtPostOffice,
			StateResultReady:        StateResultAtPostOffice,
		},
		Task: TaskMove{TaskCollection, TaskEventComplete},
		Custody: &CustodyRule{From: []PartyKind{PartyAgency}, To: PartyPostOffice, CourierKeeps: true,
			Witness: "the agency's clerk, by name and signature"},
		guard: notOnManifest, holdIf: counterChosen,
		Words: words{"Kết quả đã về bưu cục", "The result reached the post office"}},
	// While the agency has the dossier, a courier may be sent to collect what comes back;
	// the dossier's stage does not change.
	EventAssignCollection: {By: planners, Needs: []Field{FieldCourier},
		Moves: map[State]State{
			StateHandedToAgency:     StateHandedToAgency,
			StateInProcessing:       StateInProcessing,
			StateRejectedIncomplete: StateRejectedIncomplete,
			StateResultReady:        StateResultReady,
		},
		Task:  TaskMove{TaskCollection, TaskEventAssign},
		Words: words{"Bưu tá đã được giao nhận kết quả tại cơ quan giải quyết", "A postal worker was assigned to collect your result from the agency"}},
	EventDispatchDelivery: {By: planners, Needs: []Field{FieldCourier},
		Moves: map[State]State{
			StateResultAtPostOffice:  StateOutForDelivery,
			StateRedeliveryScheduled: StateOutForDelivery,
		},
		Task: TaskMove{TaskDelivery, TaskEventAssign}, Notice: NoticeOutForDelivery,
		refuse: notKeptByAnother, apply: drawTripCode,
		Words: words{"Bưu tá đang mang kết quả đến cho bạn", "A postal worker is bringing the result to you"}},
	EventHandToCourier: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
		Moves: map[State]State{StateOutForDelivery: StateOutForDelivery},
		Task:  TaskMove{TaskDelivery, TaskEventStart},
		Custody: &CustodyRule{From: []PartyKind{PartyPostOffice}, To: PartyCourier, Kept: true,
			Witness: "the counter's staff, or the courier's scan as they set out"},
		Words: words{"Bưu tá đã nhận kết quả tại bưu cục và đang mang đến cho bạn", "The postal worker took the result from the post office and is bringing it to you"}},
	EventDeliver: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin}, Needs: []Field{FieldRecipient},
		Moves:   map[State]State{StateOutForDelivery: StateDelivered},
		Task:    TaskMove{TaskDelivery, TaskEventComplete},
		Custody: &CustodyRule{From: []PartyKind{PartyCourier}, To: PartyApplicant, Witness: "the recipient: identity check and signature"},
		Implies: EventHandToCourier, AtDoor: true, Clock: ClockDelivered, Notice: NoticeDelivered,
		guard: guardDelivery, apply: verifyRecipient,
		Words: words{"Đã giao kết quả", "The result was delivered"}},
	EventDeliveryFail: {By: []auth.Role{auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin}, Needs: []Field{FieldReason},
		Moves:   map[State]State{StateOutForDelivery: StateDeliveryFailed},
		Task:    TaskMove{TaskDelivery, TaskEventFail},
		Implies: EventHandToCourier, AtDoor: true, Clock: ClockAttempt, Notice: NoticeDeliveryFailed,
		apply: endTrip, holdIf: outOfAttempts,
		Words: words{"Chưa giao được kết quả", "The result could not be delivered"}},
	// The last attempt fails into a hold; from the hold the applicant may ask for one
	// more, and no more after that.
	EventScheduleRedelivery: {By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
		Needs: []Field{FieldDate}, Takes: []Field{FieldSlot, FieldChoice}, // an applicant's choice may come as the redelivery it amounts to
		Moves: map[State]State{
			StateDeliveryFailed:   StateRedeliveryScheduled,
			StateHeldAtPostOffice: StateRedeliveryScheduled,
		},
		Task: TaskMove{TaskDelivery, TaskEventSchedule}, Notice: NoticeDeliveryBooked,
		refuse: attemptsLeft, apply: chooseHome,
		Words: words{"Đã hẹn ngày giao lại", "Another delivery was arranged"}},
	EventHold: {By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin, auth.RoleSystem, auth.RoleCitizen},
		Takes: []Field{FieldChoice}, // an applicant's choice may come as the hold it amounts to
		Moves: map[State]State{
			StateResultAtPostOffice:  StateHeldAtPostOffice,
			StateDeliveryFailed:      StateHeldAtPostOffice,
			StateRedeliveryScheduled: StateHeldAtPostOffice,
		},
		Clock: ClockHold, Notice: NoticeHeld, apply: chooseCounter,
		Words: words{"Kết quả đang được giữ tại bưu cục để bạn đến nhận", "The result is held at the post office for you to collect"}},
	EventCollectAtCounter: {By: planners, Needs: []Field{FieldRecipient, FieldIdentity},
		Moves: map[State]State{
			StateResultAtPostOffice: StateDelivered,
			StateHeldAtPostOffice:   StateDelivered,
		},
		Task: TaskMove{TaskDelivery, TaskEventCancel},
		Custody: &CustodyRule{From: []PartyKind{PartyPostOffice}, To: PartyApplicant,
			Witness: "the recipient at the counter: identity check and signature"},
		Clock: ClockDelivered,
		Words: words{"Đã nhận kết quả tại bưu cục", "The result was collected at the post office"}},
	// Without return by post the applicant fetches the result (or the refused dossier)
	// at the agency's desk.
	EventCollectAtAgency: {By: []auth.Role{auth.RoleClerk, auth.RoleAdmin}, Needs: []Field{FieldRecipient, FieldIdentity},
		Moves: map[State]State{
			StateRejectedIncomplete: StateDelivered,
			StateResultReady:        StateDelivered,
		},
		Custody: &CustodyRule{From: []PartyKind{PartyAgency}, To: PartyApplicant, Witness: "the recipient at the agency's desk: identity check"},
		Clock:   ClockDelivered,
		Words:   words{"Đã nhận kết quả tại cơ quan giải quyết", "The result was collected at the agency"}},
	EventReturnToAgency: {By: []auth.Role{auth.RoleDispatcher, auth.RoleClerk, auth.RoleAdmin},
		Moves: map[State]State{StateHeldAtPostOffice: StateReturnedToAgency},
		Task:  TaskMove{TaskDelivery, TaskEventCancel},
		Custody: &CustodyRule{From: []PartyKind{PartyPostOffice}, To: PartyAgency,
			Witness: "the agency's clerk: a manifest's receipt or the desk"},
		Notice: NoticeReturned, guard: notOnManifest,
		Words: words{"Quá hạn giữ; kết quả đã được trả về cơ quan giải quyết", "Not collected in time; the result went back to the agency"}},
	// Cancelling is possible only while the applicant still has the papers.
	EventCancel: {By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
		Moves: map[State]State{
			StateRequested: StateCancelled,
			StateScheduled: StateCancelled,
			StateAssigned:  StateCancelled,
		},
		Words: words{"Yêu cầu đã được hủy", "The request was cancelled"}},
	// The applicant says how they want the result, until it sets out for them.
	EventChooseDelivery: {By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
		Needs: []Field{FieldChoice}, Takes: []Field{FieldDate, FieldSlot},
		Moves: map[State]State{
			StateHandedToAgency:      StateHandedToAgency,
			StateInProcessing:        StateInProcessing,
			StateRejectedIncomplete:  StateRejectedIncomplete,
			StateResultReady:         StateResultReady,
			StateResultAtPostOffice:  StateResultAtPostOffice,
			StateRedeliveryScheduled: StateRedeliveryScheduled,
		},
		Notice: NoticeDeliveryBooked, NoticeIf: chosenHome, apply: applyChoice,
		Words: words{"Bạn đã chọn cách nhận kết quả", "You chose how to receive the result"}},
}

// rolesFor is who may report an event, and whether it is a dossier event at all.
func rolesFor(e Event) ([]auth.Role, bool) {
	rule, ok := eventRules[e]
	return rule.By, ok
}

// Field is a detail of EventInput that some events need or take, by its name on the wire.
type Field string

const (
	FieldCourier   Field = "courier_id"
	FieldDate      Field = "date"
	FieldSlot      Field = "slot"
	FieldChoice    Field = "choice"
	FieldDocuments Field = "documents_checked"
	FieldReason    Field = "reason"
	FieldRecipient Field = "recipient"
	FieldIdentity  Field = "proof.identity_method"
)

// fieldRule is how check treats one field: given says whether an input carries it, for
// the fields an event that does not take them refuses (nil: any event may carry it);
// need checks it on an event that requires it.
type fieldRule struct {
	field Field
	given func(in EventInput) bool
	need  func(p *domain.Problems, in EventInput, today time.Time)
}

// fieldRules, in the order check reports them. A field that the event does not take is
// refused, not ignored: who may set a courier, a day or a slot is decided by the events
// that take them (a courier reporting a pickup cannot name another courier, or move the
// day, on the way).
var fieldRules = []fieldRule{
	{FieldCourier, func(in EventInput) bool { return in.CourierID != uuid.Nil }, func(p *domain.Problems, in EventInput, _ time.Time) {
		p.Check(in.CourierID != uuid.Nil, "courier_id", "name the courier")
	}},
	{FieldDate, func(in EventInput) bool { return !in.Date.IsZero() }, func(p *domain.Problems, in EventInput, today time.Time) {
		p.Check(!in.Date.IsZero() && !in.Date.Before(today), "date", "must be today or later, as YYYY-MM-DD")
	}},
	{FieldSlot, func(in EventInput) bool { return in.Slot != nil }, nil},
	{FieldChoice, func(in EventInput) bool { return in.Choice != "" }, func(p *domain.Problems, in EventInput, today time.Time) {
		p.Check(in.Choice == ChoiceHome || in.Choice == ChoicePostOffice, "choice", "must be home or post_office")
		p.Check(in.Choice != ChoiceHome || (!in.Date.IsZero() && !in.Date.Before(today)), "date", "must be today or later, as YYYY-MM-DD")
	}},
	{FieldDocuments, func(in EventInput) bool { return in.DocumentsChecked != nil }, nil},
	// A reason any other event carries is kept as its note.
	{FieldReason, nil, func(p *domain.Problems, in EventInput, _ time.Time) {
		p.Check(oneOf(in.Reason, FailNotAtHome, FailRefused, FailWrongAddress, FailIdentityUnknown, FailOther), "reason",
			"must be not_at_home, refused, wrong_address, identity_not_proven or other")
		p.Check(in.Reason != FailOther || in.Note != "", "note", "say what happened when the reason is other")
	}},
	{FieldRecipient, nil, func(p *domain.Problems, in EventInput, _ time.Time) {
		p.Check(oneOf(in.Recipient, PartyApplicant, PartyProxy), "recipient", "must be applicant or proxy")
		p.Check(in.Recipient != PartyProxy || in.Proof.RecipientName != "", "proof.recipient_name", "name the proxy")
	}},
	// At the door the server verifies the identity itself (verifyDoor); at a desk the
	// clerk says how they checked it.
	{FieldIdentity, nil, func(p *domain.Problems, in EventInput, _ time.Time) {
		p.Check(in.Proof.IdentityMethod != "", "proof.identity_method", "say how the recipient proved who they are")
	}},
}

// ruleOf is f's rule.
func ruleOf(f Field) fieldRule {
	i := slices.IndexFunc(fieldRules, func(r fieldRule) bool { return r.field == f })
	return fieldRules[i]
}

// takenBy names the events that take f, for the refusal of it on any other.
func takenBy(f Field) string {
	var names []string
	for _, e := range Events {
		if eventRules[e].takes(f) {
			names = append(names, string(e))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// deciding is one event being decided, for the steps its row points to.
type deciding struct {
	s       *Service
	p       auth.Principal
	d       Dossier
	tasks   []Task
	in      EventInput
	now     time.Time
	r       reads
	to      State
	moves   []move
	changed []Task
	claim   *SlotClaim
}

// The events' own steps, named in their rows.

// notOnManifest: an item a batch carries is handed over by the batch's receipt, not at
// the desk, or the manifest would later count it missing though the other side has it.
func notOnManifest(s *Service, ctx context.Context, _ auth.Principal, d Dossier, _ []Task, _ EventInput, _ time.Time) error {
	open, err := s.store.OpenManifests(ctx, []uuid.UUID{d.ID})
	if err != nil {
		return err
	}
	if m, ok := open[d.ID]; ok {
		return domain.Errorf(CodeOnManifest, "this dossier is on manifest %s, not yet received: receive it with that batch", m)
	}
	return nil
}

// guardDelivery: only the stop's courier may spend the trip's tries at the door code,
// and a wrong code or ID digits count against the trip even when the delivery is refused.
func guardDelivery(s *Service, ctx context.Context, p auth.Principal, d Dossier, tasks []Task, in EventInput, now time.Time) error {
	if d.State != StateOutForDelivery {
		return nil
	}
	if !mayDeliver(p, tasks) {
		return domain.Errorf(domain.CodeForbidden, "this delivery stop is not yours")
	}
	return s.guardDoor(ctx, d, in, s.doorTime(d, now, in.DeviceTime))
}

// notKeptByAnother: sending another courier is a decision, but the one who kept the
// result after a failed attempt must hand it in first, or the new one could never take it.
func notKeptByAnother(c *deciding) error {
	if c.d.Holder.Kind == PartyCourier && c.d.Holder.ID != c.in.CourierID {
		return domain.Errorf(CodeNotHeld, "another courier still carries this result: they hand it in first")
	}
	return nil
}

// attemptsLeft: the last attempt fails into a hold, from which one more may be asked for.
func attemptsLeft(c *deciding) error {
	if c.d.FailedAttempts > c.s.cfg.MaxAttempts {
		return domain.Errorf(CodeAttemptsExhausted, "%d delivery attempts have failed; the result waits at the post office", c.d.FailedAttempts)
	}
	return nil
}

// drawTripCode: each trip out gets a new door code.
func drawTripCode(c *deciding) error {
	h, err := c.s.drawHandover(c.d, c.now)
	c.d.Handover = h
	return err
}

// verifyRecipient records how the recipient proved who they are, as the server verified
// it; the trip's code dies with the delivery.
func verifyRecipient(c *deciding) error {
	method, err := c.s.verifyDoor(c.d, c.in, c.s.doorTime(c.d, c.now, c.in.DeviceTime))
	if err != nil {
		return err
	}
	c.in.Proof.IdentityMethod = method
	c.d.Handover = Handover{}
	return nil
}

// endTrip: the trip's code dies with a failed attempt.
func endTrip(c *deciding) error {
	c.d.Handover = Handover{}
	return nil
}

// The last word on how to reach the applicant stands for what follows: theirs, or the
// dispatcher's who arranged another delivery with them.

// chooseHome: another delivery is the home chosen.
func chooseHome(c *deciding) error {
	c.d.DeliveryChoice = ChoiceHome
	return nil
}

// chooseCounter: an applicant who asks for the hold chose the counter.
func chooseCounter(c *deciding) error {
	if c.p.Role == auth.RoleCitizen {
		c.d.DeliveryChoice = ChoicePostOffice
	}
	return nil
}

// applyChoice: the applicant's choice of how to receive the result (see
// Service.chooseDelivery).
func applyChoice(c *deciding) error {
	var err error
	c.changed, c.claim, err = c.s.chooseDelivery(&c.d, c.tasks, c.in, c.r.proc, c.now)
	return err
}

// outOfAttempts: the last allowed failure holds the result for the applicant to collect,
// with this failure. The courier still has it until arrive_post_office records its return.
func outOfAttempts(c *deciding) bool { return c.d.FailedAttempts >= c.s.cfg.MaxAttempts }

// counterChosen: the applicant chose the counter, so the result is held for them as it
// arrives at the post office.
func counterChosen(c *deciding) bool {
	toOffice := len(c.moves) > 0 && c.moves[len(c.moves)-1].to.Kind == PartyPostOffice
	return toOffice && c.d.DeliveryChoice == ChoicePostOffice && oneOf(c.to, StateResultAtPostOffice, StateRedeliveryScheduled)
}

func returnsByPost(d Dossier) bool { return d.Return }

func chosenHome(d Dossier) bool { return d.DeliveryChoice == ChoiceHome }

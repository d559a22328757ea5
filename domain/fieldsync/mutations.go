package fieldsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"courierd/domain"
	"courierd/domain/dossier"
	"courierd/domain/input"
)

// Payloads of the v1 mutation types. A type's meaning never changes: a new meaning is a
// new type (task.deliver.v2), so old apps and new servers always agree.
// Each string field says how it is kept (see keptPayload): `kept:"hash"`, `kept:"secret"`
// or `kept:"text"`.
type pickupV1 struct {
	SignatureSHA256  string   `json:"signature_sha256" kept:"hash"`
	PhotoSHA256      string   `json:"photo_sha256" kept:"hash"`
	DocumentsChecked []string `json:"documents_checked" kept:"text"`
	FeeCollectedVND  int64    `json:"fee_collected_vnd" bound:"-int8..int8" column:"cash_collections.amount_vnd"`
}

type deliverV1 struct {
	Recipient      string `json:"recipient" kept:"text"`
	RecipientName  string `json:"recipient_name" kept:"text"`
	IdentityMethod string `json:"identity_method" kept:"text"`
	// HandoverCode is the code the applicant was sent and read out at the door, still
	// good while the delivery waits in quarantine.
	HandoverCode string `json:"handover_code" kept:"secret"`
	// CitizenIDLast4: the last four digits of the ID card checked, never the whole number.
	CitizenIDLast4 string `json:"citizen_id_last4" kept:"secret"`
	// AuthorisationSHA256 is the photo of a proxy's authorisation letter.
	AuthorisationSHA256 string `json:"authorisation_sha256" kept:"hash"`
	SignatureSHA256     string `json:"signature_sha256" kept:"hash"`
	PhotoSHA256         string `json:"photo_sha256" kept:"hash"`
}

type failV1 struct {
	Reason      string `json:"reason" kept:"text"`
	Note        string `json:"note" kept:"text"`
	PhotoSHA256 string `json:"photo_sha256" kept:"hash"`
}

// collectResultV1: the courier took the result (or the refused dossier) from the agency's
// desk; the clerk signs for it.
type collectResultV1 struct {
	ClerkName       string `json:"clerk_name" kept:"text"`
	SignatureSHA256 string `json:"signature_sha256" kept:"hash"`
	PhotoSHA256     string `json:"photo_sha256" kept:"hash"`
}

// handoverPostOfficeV1: the courier handed what they carry from a stop in at the post
// office's counter.
type handoverPostOfficeV1 struct {
	ReceivedBy      string `json:"received_by" kept:"text"`
	SignatureSHA256 string `json:"signature_sha256" kept:"hash"`
}

type collectFeeV1 struct {
	AmountVND     int64  `json:"amount_vnd" bound:"-int8..int8" column:"cash_collections.amount_vnd"`
	Method        string `json:"method" kept:"text"`
	ReceiptNumber string `json:"receipt_number" kept:"text"`
}

type noteV1 struct {
	Text string `json:"text" kept:"text"`
}

// startV1 carries nothing: setting out is the fact.
type startV1 struct{}

// Cash is money a courier took at a stop: the ledger a day's cash is counted against.
type Cash struct {
	AmountVND     int64
	Method        string // cash, bank_transfer, qr
	ReceiptNumber string
}

// Payment methods a courier may record.
var payMethods = []string{"cash", "bank_transfer", "qr"}

// stopRule says which stops a mutation type may name.
type stopRule int

const (
	// openStop: the courier's current, unfinished stop (the decided rule for facts).
	openStop stopRule = iota
	// ownStop: a stop assigned to the courier, finished or not, but not cancelled: money
	// and notes often follow the report that finished it.
	ownStop
	// carried: any stop whose item the courier carries; the dossier's custody decides.
	carried
)

// mutationType is how the server reads and applies one type.
type mutationType struct {
	// fact: it records something that physically happened; refused, it goes to quarantine
	// instead of being dropped.
	fact bool
	// completes: its report finishes the stop it names, so its device time is when the
	// stop was done.
	completes bool
	// fails: its report ends the stop it names unfinished.
	fails bool
	// carriesFee: its report is where a dossier paid in cash to the courier falls due
	// from them: the courier carries the fee from then on, into the day's cash ledger.
	carriesFee bool
	rule       stopRule
	read       func(m Mutation, kind dossier.TaskKind) (reading, error)
	// kept is how each payload field is kept, from the payload type's declaration.
	kept map[string]keepRule
}

// reading is what a mutation means: a dossier event, money taken, or only a record.
type reading struct {
	event *dossier.EventInput
	cash  *Cash
}

// mutationTypes are the types this server applies.
var mutationTypes = map[string]mutationType{
	"task.pickup.v1":               {fact: true, completes: true, carriesFee: true, rule: openStop, read: readPickup, kept: keepRules[pickupV1]()},
	"task.deliver.v1":              {fact: true, completes: true, rule: openStop, read: readDeliver, kept: keepRules[deliverV1]()},
	"task.fail.v1":                 {fact: true, fails: true, rule: openStop, read: readFail, kept: keepRules[failV1]()},
	"task.collect_result.v1":       {fact: true, completes: true, rule: openStop, read: readCollectResult, kept: keepRules[collectResultV1]()},
	"task.handover_post_office.v1": {fact: true, rule: carried, read: readHandover, kept: keepRules[handoverPostOfficeV1]()},
	"task.collect_fee.v1":          {fact: true, rule: ownStop, read: readCollectFee, kept: keepRules[collectFeeV1]()},
	"task.note.v1":                 {rule: ownStop, read: readNote, kept: keepRules[noteV1]()},
	"task.start.v1":                {rule: openStop, read: readStart, kept: keepRules[startV1]()},
}

// MutationTypes lists the types this server applies, sorted.
func MutationTypes() []string { return slices.Sorted(maps.Keys(mutationTypes)) }

// CompletingTypes lists, sorted, the types whose report finishes a stop: storage reads a
// stop's completion time from them.
func CompletingTypes() []string { return typesWhere(func(t mutationType) bool { return t.completes }) }

// FeeCarryingTypes lists, sorted, the types whose report makes a dossier's fee due from
// the courier: storage counts a day's cash owed from them.
func FeeCarryingTypes() []string {
	return typesWhere(func(t mutationType) bool { return t.carriesFee })
}

// StopOutcome is what an applied report of type name makes of its stop: "done",
// "failed", or "" for one that leaves the stop as it was. The live stream tells screens.
func StopOutcome(name string) string {
	switch t := mutationTypes[name]; {
	case t.completes:
		return "done"
	case t.fails:
		return "failed"
	}
	return ""
}

func typesWhere(keep func(mutationType) bool) []string {
	var out []string
	for _, name := range MutationTypes() {
		if keep(mutationTypes[name]) {
			out = append(out, name)
		}
	}
	return out
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// decodeStrict reads a payload through the same checks as a request's body; what is not
// a JSON object of the type's shape is the payload's fault.
func decodeStrict(raw json.RawMessage, dst any) error {
	err := input.Decode(raw, dst, "payload.")
	if e, ok := domain.AsError(err); ok && e.Code == domain.CodeMalformedBody {
		return domain.Invalid("payload", "does not match the mutation type: "+strings.TrimPrefix(e.Message, "the body "))
	}
	return err
}

func checkHash(p *domain.Problems, field, value string) {
	p.Check(value == "" || sha256Hex.MatchString(value), field, "must be a lowercase hex SHA-256")
}

func checkText(p *domain.Problems, field, value string, max int) {
	p.Check(utf8.RuneCountInString(value) <= max, field, "is too long")
}

// event starts the dossier event a mutation reports, with its place and device time.
func event(m Mutation, e dossier.Event) *dossier.EventInput {
	in := &dossier.EventInput{Event: e, Fact: true, Point: m.Point, AccuracyM: m.AccuracyM}
	if !m.OccurredAt.IsZero() {
		at := m.OccurredAt
		in.DeviceTime = &at
	}
	return in
}

func readPickup(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body pickupV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
	checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
	p.CheckVND(body.FeeCollectedVND, 0, domain.MaxDueVND, "payload.fee_collected_vnd")
	p.Check(len(body.DocumentsChecked) <= 50, "payload.documents_checked", "at most 50 documents")
	for i, d := range body.DocumentsChecked {
		checkText(&p, fmt.Sprintf("payload.documents_checked[%d]", i), d, 300)
	}
	r := reading{event: event(m, dossier.EventPickUp)}
	r.event.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, PhotoSHA256: body.PhotoSHA256}
	// Compared with the procedure's checklist: a name not on it is refused, a document
	// of it not named is recorded as a gap for the dispatcher.
	r.event.DocumentsChecked = body.DocumentsChecked
	if r.event.DocumentsChecked == nil {
		r.event.DocumentsChecked = []string{}
	}
	if body.FeeCollectedVND > 0 {
		r.cash = &Cash{AmountVND: body.FeeCollectedVND, Method: "cash"}
	}
	return r, p.Err()
}

func readDeliver(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body deliverV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
	checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
	r := reading{event: event(m, dossier.EventDeliver)}
	r.event.Door = dossier.DoorCheck{HandoverCode: body.HandoverCode, CitizenIDLast4: body.CitizenIDLast4, AuthorisationSHA256: body.AuthorisationSHA256}
	r.event.Door.Check(&p, "payload.")
	r.event.Recipient = dossier.PartyKind(body.Recipient)
	r.event.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, PhotoSHA256: body.PhotoSHA256,
		RecipientName: body.RecipientName, IdentityMethod: body.IdentityMethod}
	return r, p.Err()
}

func readFail(m Mutation, kind dossier.TaskKind) (reading, error) {
	var body failV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
	e := dossier.EventDeliveryFail
	if kind == dossier.TaskPickup {
		e = dossier.EventPickupFailed
	}
	r := reading{event: event(m, e)}
	r.event.Reason, r.event.Note = dossier.FailureReason(body.Reason), body.Note
	r.event.Proof = dossier.Proof{PhotoSHA256: body.PhotoSHA256}
	return r, p.Err()
}

func readCollectResult(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body collectResultV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
	checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
	checkText(&p, "payload.clerk_name", body.ClerkName, 200)
	r := reading{event: event(m, dossier.EventCollectResult)}
	r.event.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, PhotoSHA256: body.PhotoSHA256, RecipientName: body.ClerkName}
	return r, p.Err()
}

func readHandover(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body handoverPostOfficeV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
	checkText(&p, "payload.received_by", body.ReceivedBy, 200)
	r := reading{event: event(m, dossier.EventArrivePostOffice)}
	r.event.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, RecipientName: body.ReceivedBy}
	return r, p.Err()
}

func readCollectFee(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body collectFeeV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	p.CheckVND(body.AmountVND, 1, domain.MaxDueVND, "payload.amount_vnd")
	p.Check(slices.Contains(payMethods, body.Method), "payload.method", "must be cash, bank_transfer or qr")
	checkText(&p, "payload.receipt_number", body.ReceiptNumber, 50)
	return reading{cash: &Cash{AmountVND: body.AmountVND, Method: body.Method, ReceiptNumber: body.ReceiptNumber}}, p.Err()
}

// readStart: the courier set out for a stop. At a pickup the applicant is told, and can no
// longer move or cancel it; at a delivery it records the courier taking the result from
// the post office (hand_to_courier), the handover the ledger would otherwise infer from
// the first fact at the door.
func readStart(m Mutation, kind dossier.TaskKind) (reading, error) {
	var body startV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	switch kind {
	case dossier.TaskPickup:
		return reading{event: event(m, dossier.EventSetOut)}, nil
	case dossier.TaskDelivery:
		return reading{event: event(m, dossier.EventHandToCourier)}, nil
	}
	return reading{}, domain.Invalid("task_id", "only a pickup or a delivery stop is started")
}

func readNote(m Mutation, _ dossier.TaskKind) (reading, error) {
	var body noteV1
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	var p domain.Problems
	p.Check(body.Text != "", "payload.text", "is required")
	checkText(&p, "payload.text", body.Text, 1000)
	return reading{}, p.Err()
}

// keepRule is how a payload field is kept with its mutation, declared with the field by
// its `kept` tag: what a field is decides how it is shown, never what its value looks like.
type keepRule string

const (
	// keepAsSent: numbers, and whatever else carries nothing personal.
	keepAsSent keepRule = ""
	// keepHash: a blob's SHA-256, kept exactly; a value of another shape is starred, as it
	// is not a hash and may be anything.
	keepHash keepRule = "hash"
	// keepSecret: starred whole, such as a trip's door code or an ID card's digits.
	keepSecret keepRule = "secret"
	// keepText: typed by a person, so it may hold an ID card or phone number: such
	// numbers keep their last four digits.
	keepText keepRule = "text"
)

// keepRules reads the `kept` tags of payload type T. A field that holds text must say how
// it is kept: the server does not start otherwise.
func keepRules[T any]() map[string]keepRule {
	t := reflect.TypeFor[T]()
	rules := make(map[string]keepRule, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		rule := keepRule(f.Tag.Get("kept"))
		holdsText := f.Type.Kind() == reflect.String || f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String
		if !slices.Contains([]keepRule{keepAsSent, keepHash, keepSecret, keepText}, rule) || holdsText && rule == keepAsSent {
			panic(fmt.Sprintf("payload field %s.%s: kept %q; want hash, secret or text", t.Name(), f.Name, rule))
		}
		rules[name] = rule
	}
	return rules
}

// declaredRules is every field name any type declares, with its rule (one per name across
// types): how the fields of a type this server does not know are kept. A field no type
// declares is kept as text.
var declaredRules = func() map[string]keepRule {
	all := map[string]keepRule{}
	for typ, mt := range mutationTypes {
		for name, rule := range mt.kept {
			if other, seen := all[name]; seen && other != rule {
				panic(fmt.Sprintf("payload field %s of %s: kept %q here, %q elsewhere", name, typ, rule, other))
			}
			all[name] = rule
		}
	}
	return all
}()

// payloadFields are the dossier event's fields a device sends in a mutation's payload.
var payloadFields = []string{"proof.", "handover_code", "citizen_id_last4", "authorisation_sha256", "documents_checked", "recipient"}

// asPayloadFields renames a dossier event's refusal's field errors after where the device
// sent them: the proof's and the door's fields are the payload's.
func asPayloadFields(fields []domain.FieldError) []domain.FieldError {
	out := make([]domain.FieldError, len(fields))
	for i, f := range fields {
		out[i] = f
		if slices.ContainsFunc(payloadFields, func(prefix string) bool { return strings.HasPrefix(f.Field, prefix) }) {
			out[i].Field = "payload." + strings.TrimPrefix(f.Field, "proof.")
		}
	}
	return out
}

// longNumber is a run of digits as long as an ID card or phone number.
var longNumber = regexp.MustCompile(`[0-9]{9,}`)

// keptPayload is what is kept of a payload of type typ, applied or quarantined: each
// field as its type declares. A payload that is not an object is kept as text.
func keptPayload(typ string, raw json.RawMessage) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // amounts stay exactly as sent
	if dec.Decode(&v) != nil {
		return raw
	}
	rules := mutationTypes[typ].kept
	fields, isObject := v.(map[string]any)
	if !isObject {
		v = keep(keepText, v)
	}
	for name, value := range fields {
		rule, declared := rules[name]
		if !declared {
			rule, declared = declaredRules[name]
		}
		if !declared {
			rule = keepText
		}
		fields[name] = keep(rule, value)
	}
	kept, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return kept
}

// keep applies rule to a field's value, to every string within it.
func keep(rule keepRule, v any) any {
	switch x := v.(type) {
	case string:
		switch {
		case rule == keepSecret, rule == keepHash && !sha256Hex.MatchString(x):
			return strings.Repeat("*", utf8.RuneCountInString(x))
		case rule == keepText:
			return longNumber.ReplaceAllStringFunc(x, func(n string) string { return strings.Repeat("*", len(n)-4) + n[len(n)-4:] })
		}
	case []any:
		for i := range x {
			x[i] = keep(rule, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = keep(rule, x[k])
		}
	}
	return v
}

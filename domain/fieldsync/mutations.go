package fieldsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"courierd/domain"
	"courierd/domain/dossier"
)

// Payloads of the v1 mutation types. A type's meaning never changes: a new meaning is a
// new type (task.deliver.v2), so old apps and new servers always agree.
type pickupV1 struct {
	SignatureSHA256  string   `json:"signature_sha256"`
	PhotoSHA256      string   `json:"photo_sha256"`
	DocumentsChecked []string `json:"documents_checked"`
	FeeCollectedVND  int64    `json:"fee_collected_vnd"`
}

type deliverV1 struct {
	Recipient      string `json:"recipient"`
	RecipientName  string `json:"recipient_name"`
	IdentityMethod string `json:"identity_method"`
	// HandoverCode is the code the applicant was sent and read out at the door.
	HandoverCode string `json:"handover_code"`
	// CitizenIDLast4: the last four digits of the ID card checked, never the whole number.
	CitizenIDLast4 string `json:"citizen_id_last4"`
	// AuthorisationSHA256 is the photo of a proxy's authorisation letter.
	AuthorisationSHA256 string `json:"authorisation_sha256"`
	SignatureSHA256     string `json:"signature_sha256"`
	PhotoSHA256         string `json:"photo_sha256"`
}

type failV1 struct {
	Reason      string `json:"reason"`
	Note        string `json:"note"`
	PhotoSHA256 string `json:"photo_sha256"`
}

// collectResultV1: the courier took the result (or the refused dossier) from the agency's
// desk; the clerk signs for it.
type collectResultV1 struct {
	ClerkName       string `json:"clerk_name"`
	SignatureSHA256 string `json:"signature_sha256"`
	PhotoSHA256     string `json:"photo_sha256"`
}

// handoverPostOfficeV1: the courier handed what they carry from a stop in at the post
// office's counter.
type handoverPostOfficeV1 struct {
	ReceivedBy      string `json:"received_by"`
	SignatureSHA256 string `json:"signature_sha256"`
}

type collectFeeV1 struct {
	AmountVND     int64  `json:"amount_vnd"`
	Method        string `json:"method"`
	ReceiptNumber string `json:"receipt_number"`
}

type noteV1 struct {
	Text string `json:"text"`
}

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
	rule stopRule
	read func(m Mutation, kind dossier.TaskKind) (reading, error)
}

// reading is what a mutation means: a dossier event, money taken, or only a record.
type reading struct {
	event *dossier.EventInput
	cash  *Cash
}

// mutationTypes are the types this server applies.
var mutationTypes = map[string]mutationType{
	"task.pickup.v1":               {fact: true, rule: openStop, read: readPickup},
	"task.deliver.v1":              {fact: true, rule: openStop, read: readDeliver},
	"task.fail.v1":                 {fact: true, rule: openStop, read: readFail},
	"task.collect_result.v1":       {fact: true, rule: openStop, read: readCollectResult},
	"task.handover_post_office.v1": {fact: true, rule: carried, read: readHandover},
	"task.collect_fee.v1":          {fact: true, rule: ownStop, read: readCollectFee},
	"task.note.v1":                 {rule: ownStop, read: readNote},
	"task.start.v1":                {rule: openStop, read: readStart},
}

// MutationTypes lists the types this server applies, sorted.
func MutationTypes() []string { return slices.Sorted(maps.Keys(mutationTypes)) }

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func decodeStrict(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return domain.Invalid("payload", "does not match the mutation type: "+err.Error())
	}
	return nil
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
	p.Check(body.FeeCollectedVND >= 0, "payload.fee_collected_vnd", "must not be negative")
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
	p.Check(body.AmountVND > 0 && body.AmountVND <= 100_000_000, "payload.amount_vnd", "must be between 1 and 100,000,000 đồng")
	p.Check(slices.Contains(payMethods, body.Method), "payload.method", "must be cash, bank_transfer or qr")
	checkText(&p, "payload.receipt_number", body.ReceiptNumber, 50)
	return reading{cash: &Cash{AmountVND: body.AmountVND, Method: body.Method, ReceiptNumber: body.ReceiptNumber}}, p.Err()
}

// readStart: the courier set out for a pickup; the applicant is told, and can no longer
// move or cancel it. A delivery sets out when the result leaves the post office.
func readStart(m Mutation, kind dossier.TaskKind) (reading, error) {
	var body struct{}
	if err := decodeStrict(m.Payload, &body); err != nil {
		return reading{}, err
	}
	if kind != dossier.TaskPickup {
		return reading{}, domain.Invalid("task_id", "only a pickup stop is started; a delivery sets out with the result")
	}
	return reading{event: event(m, dossier.EventSetOut)}, nil
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

// doorSecrets are payload fields kept only as stars: a trip's door code (still good
// while the delivery waits in quarantine) and the ID card's digits.
var doorSecrets = map[string]bool{"handover_code": true, "citizen_id_last4": true}

// hasDoorSecret reports whether a payload may hold one, before decoding it.
func hasDoorSecret(raw []byte) bool {
	return bytes.Contains(raw, []byte(`"handover_code"`)) || bytes.Contains(raw, []byte(`"citizen_id_last4"`))
}

// maskNumbers hides, in every string of a payload, digit runs as long as an ID card or a
// phone number but their last four, and the door secrets whole, before the payload is
// kept: a courier may type a number into a note, or a buggy app send one where only four
// digits belong.
func maskNumbers(raw json.RawMessage) json.RawMessage {
	if !longNumber.Match(raw) && !hasDoorSecret(raw) {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	masked, err := json.Marshal(maskStrings(v))
	if err != nil {
		return raw
	}
	return masked
}

func maskStrings(v any) any {
	switch x := v.(type) {
	case string:
		return longNumber.ReplaceAllStringFunc(x, func(n string) string { return strings.Repeat("*", len(n)-4) + n[len(n)-4:] })
	case []any:
		for i := range x {
			x[i] = maskStrings(x[i])
		}
	case map[string]any:
		for k := range x {
			if text, ok := x[k].(string); ok && doorSecrets[k] {
				x[k] = strings.Repeat("*", len(text))
				continue
			}
			x[k] = maskStrings(x[k])
		}
	}
	return v
}

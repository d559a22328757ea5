package fieldsync

import (
	"bytes"
	"encoding/json"
	"regexp"

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
	Recipient       string `json:"recipient"`
	RecipientName   string `json:"recipient_name"`
	IdentityMethod  string `json:"identity_method"`
	SignatureSHA256 string `json:"signature_sha256"`
	PhotoSHA256     string `json:"photo_sha256"`
}

type failV1 struct {
	Reason      string `json:"reason"`
	Note        string `json:"note"`
	PhotoSHA256 string `json:"photo_sha256"`
}

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

// toEvent reads a mutation as the dossier event it reports, for a stop of kind.
func toEvent(m Mutation, kind dossier.TaskKind) (dossier.EventInput, error) {
	in := dossier.EventInput{Fact: true, Point: m.Point, AccuracyM: m.AccuracyM}
	if !m.OccurredAt.IsZero() {
		at := m.OccurredAt
		in.DeviceTime = &at
	}
	var p domain.Problems
	switch m.Type {
	case "task.pickup.v1":
		var body pickupV1
		if err := decodeStrict(m.Payload, &body); err != nil {
			return in, err
		}
		checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
		checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
		p.Check(body.FeeCollectedVND >= 0, "payload.fee_collected_vnd", "must not be negative")
		in.Event = dossier.EventPickUp
		in.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, PhotoSHA256: body.PhotoSHA256}
	case "task.deliver.v1":
		var body deliverV1
		if err := decodeStrict(m.Payload, &body); err != nil {
			return in, err
		}
		checkHash(&p, "payload.signature_sha256", body.SignatureSHA256)
		checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
		in.Event, in.Recipient = dossier.EventDeliver, dossier.PartyKind(body.Recipient)
		in.Proof = dossier.Proof{SignatureSHA256: body.SignatureSHA256, PhotoSHA256: body.PhotoSHA256,
			RecipientName: body.RecipientName, IdentityMethod: body.IdentityMethod}
	case "task.fail.v1":
		var body failV1
		if err := decodeStrict(m.Payload, &body); err != nil {
			return in, err
		}
		checkHash(&p, "payload.photo_sha256", body.PhotoSHA256)
		in.Event, in.Reason, in.Note = dossier.EventDeliveryFail, dossier.FailureReason(body.Reason), body.Note
		if kind == dossier.TaskPickup {
			in.Event = dossier.EventPickupFailed
		}
		in.Proof = dossier.Proof{PhotoSHA256: body.PhotoSHA256}
	}
	return in, p.Err()
}

package fieldsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/fieldsync"
)

// TestBatchLimits: an oversized, empty or broken batch is refused before any storage.
func TestBatchLimits(t *testing.T) {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleCourier, CourierID: uuid.New(), DeviceID: uuid.New()})
	pusher := fieldsync.NewPusher(nil, nil) // never reached
	batch := func(n int, step int64) []fieldsync.Mutation {
		out := make([]fieldsync.Mutation, n)
		for i := range out {
			out[i] = fieldsync.Mutation{Seq: 1 + int64(i)*step, ID: uuid.New(), Type: "task.pickup.v1"}
		}
		return out
	}
	for name, b := range map[string][]fieldsync.Mutation{
		"empty": nil, "over the limit": batch(fieldsync.MaxBatch+1, 1), "not consecutive": batch(3, 2),
	} {
		if _, err := pusher.Push(ctx, b); domain.ErrorCode(err) != domain.CodeValidationFailed {
			t.Errorf("%s batch: %v", name, err)
		}
	}
	if _, err := pusher.Push(context.Background(), batch(1, 1)); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("a push without a courier's device: %v", err)
	}
}

// TestKeptPayload: every field of every mutation type is kept as its type declares it,
// whatever its value looks like: hashes exactly (a hash full of digits too), door secrets
// as stars, free text with ID and phone numbers cut to their last four digits, amounts as
// sent. A type or field this server does not know is kept by the rule its name has
// elsewhere, or as text.
func TestKeptPayload(t *testing.T) {
	const digitHash = "6bd0002f6ff6fbb5b1234567890129323e5aa11bb22cc33dd44ee55ff6600778"
	sent := map[string]any{"hash": digitHash, "secret": "482913", "text": "CCCD 074190001234, gọi 0913456789", "": json.Number("115000000")}
	want := map[string]any{"hash": digitHash, "secret": "******", "text": "CCCD ********1234, gọi ******6789", "": json.Number("115000000")}
	for _, typ := range append(fieldsync.MutationTypes(), "task.deliver.v2") {
		rules := fieldsync.KeepRules(typ)
		if typ == "task.deliver.v2" { // unknown: a known name keeps its rule, a new one is text
			rules = map[string]string{"signature_sha256": "hash", "handover_code": "secret", "courier_remark": "text"}
		}
		payload, expected := map[string]any{}, map[string]any{}
		for name, rule := range rules {
			payload[name], expected[name] = sent[rule], want[rule]
		}
		raw, _ := json.Marshal(payload)
		var got map[string]any
		dec := json.NewDecoder(bytes.NewReader(fieldsync.KeptPayload(typ, raw)))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil || !reflect.DeepEqual(got, expected) {
			t.Errorf("%s: kept %v, want %v (%v)", typ, got, expected, err)
		}
	}
	// Lists of text are text; a hash field holding something else is not a hash.
	got := string(fieldsync.KeptPayload("task.pickup.v1", []byte(`{"documents_checked":["CCCD 074190001234"],"photo_sha256":"074190001234"}`)))
	if got != `{"documents_checked":["CCCD ********1234"],"photo_sha256":"************"}` {
		t.Errorf("pickup kept %s", got)
	}
	if got := string(fieldsync.KeptPayload("task.note.v1", []byte(`"gọi 0913456789"`))); got != `"gọi ******6789"` {
		t.Errorf("a payload that is not an object is text: kept %s", got)
	}
}

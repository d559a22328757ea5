package fieldsync_test

import (
	"context"
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

// TestMaskNumbers: ID and phone numbers in what is kept of a payload show their last four
// digits only; amounts (JSON numbers) and short codes are untouched; a door code and ID
// digits are starred whole.
func TestMaskNumbers(t *testing.T) {
	got := string(fieldsync.MaskNumbers([]byte(`{"text":"CCCD 074190001234, gọi 0913456789","amount_vnd":115000000,"code":"4821","list":["123456789"]}`)))
	want := `{"amount_vnd":115000000,"code":"4821","list":["*****6789"],"text":"CCCD ********1234, gọi ******6789"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The door's secrets are kept as stars, whole.
	door := string(fieldsync.MaskNumbers([]byte(`{"recipient":"applicant","handover_code":"482913","citizen_id_last4":"4821"}`)))
	if door != `{"citizen_id_last4":"****","handover_code":"******","recipient":"applicant"}` {
		t.Fatalf("door secrets kept: %s", door)
	}
	if same := string(fieldsync.MaskNumbers([]byte(`{"text":"hẹn 14 giờ"}`))); same != `{"text":"hẹn 14 giờ"}` {
		t.Fatalf("a payload without long numbers changed: %s", same)
	}
}

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

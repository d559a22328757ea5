package live_test

import (
	"testing"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/live"
)

// TestHub: each screen gets the events of its offices, a courier gets none, and
// closing the hub ends every feed so that the server can shut down.
func TestHub(t *testing.T) {
	hub := live.NewHub()
	mine, other := uuid.New(), uuid.New()
	dispatcher, cancelDispatcher, ok := hub.Subscribe(auth.Principal{Role: auth.RoleDispatcher, PostOfficeIDs: []uuid.UUID{mine}})
	if !ok {
		t.Fatal("a dispatcher may subscribe")
	}
	admin, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleAdmin})
	nowhere, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleDispatcher})
	if _, _, ok := hub.Subscribe(auth.Principal{Role: auth.RoleCourier}); ok {
		t.Fatal("a courier subscribed to the live stream")
	}
	hub.Publish(live.Event{PostOfficeID: other, ID: "TASK_CANCELLED"})
	hub.Publish(live.Event{PostOfficeID: mine, ID: "TASK_REASSIGNED"})
	if a := <-dispatcher; a.ID != "TASK_REASSIGNED" {
		t.Fatalf("the dispatcher got %+v first, another office's event", a)
	}
	if a, b := <-admin, <-admin; a.ID != "TASK_CANCELLED" || b.ID != "TASK_REASSIGNED" {
		t.Fatalf("the admin got %+v, %+v", a, b)
	}
	select {
	case a := <-nowhere:
		t.Fatalf("a dispatcher of no office got %+v", a)
	default:
	}
	cancelDispatcher()
	cancelDispatcher() // a second cancel is harmless
	if _, open := <-dispatcher; open {
		t.Fatal("a cancelled feed stayed open")
	}
	hub.Close()
	if _, open := <-admin; open {
		t.Fatal("closing the hub left a feed open")
	}
	late, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleAdmin})
	if _, open := <-late; open {
		t.Fatal("a feed opened after closing stays open")
	}
}

package fieldsync_test

import (
	"testing"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/fieldsync"
)

// TestAlertsHub: each screen gets the alerts of its offices, a courier gets none, and
// closing the hub ends every feed so that the server can shut down.
func TestAlertsHub(t *testing.T) {
	hub := fieldsync.NewAlerts()
	mine, other := uuid.New(), uuid.New()
	dispatcher, cancelDispatcher, ok := hub.Subscribe(auth.Principal{Role: auth.RoleDispatcher, PostOfficeIDs: []uuid.UUID{mine}})
	if !ok {
		t.Fatal("a dispatcher may subscribe")
	}
	admin, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleAdmin})
	nowhere, _, _ := hub.Subscribe(auth.Principal{Role: auth.RoleDispatcher})
	if _, _, ok := hub.Subscribe(auth.Principal{Role: auth.RoleCourier}); ok {
		t.Fatal("a courier subscribed to quarantine alerts")
	}
	hub.Publish(fieldsync.Alert{PostOfficeID: other, Code: "TASK_CANCELLED"})
	hub.Publish(fieldsync.Alert{PostOfficeID: mine, Code: "TASK_REASSIGNED"})
	if a := <-dispatcher; a.Code != "TASK_REASSIGNED" {
		t.Fatalf("the dispatcher got %+v first, another office's alert", a)
	}
	if a, b := <-admin, <-admin; a.Code != "TASK_CANCELLED" || b.Code != "TASK_REASSIGNED" {
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

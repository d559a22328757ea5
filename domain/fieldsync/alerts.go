package fieldsync

import (
	"slices"
	"sync"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// Alert tells dispatchers that a fact from the field was quarantined: ids and the code
// only, never the payload (it may hold a recipient's name); the screen reads the item.
type Alert struct {
	MutationID   uuid.UUID `json:"mutation_id"`
	CourierID    uuid.UUID `json:"courier_id"`
	PostOfficeID uuid.UUID `json:"post_office_id"`
	TaskID       uuid.UUID `json:"task_id"`
	Type         string    `json:"type"`
	Code         string    `json:"code"`
}

// alertBuffer is how many alerts a slow screen may fall behind before it misses some
// (the open list stays the record; a screen that reconnects reads it again).
const alertBuffer = 64

// Alerts fans quarantine alerts out to the dispatchers' open screens, each seeing only
// its offices' couriers.
type Alerts struct {
	mu     sync.Mutex
	subs   map[*subscription]bool
	closed bool
}

type subscription struct {
	offices []uuid.UUID // nil: every office
	ch      chan Alert
}

func NewAlerts() *Alerts { return &Alerts{subs: map[*subscription]bool{}} }

// Subscribe opens a feed of the alerts the caller may see. The channel closes when the
// caller cancels or the hub closes; ok is false for a caller who sees no quarantine.
func (a *Alerts) Subscribe(p auth.Principal) (feed <-chan Alert, cancel func(), ok bool) {
	scope, ok := scope(p)
	if !ok {
		return nil, nil, false
	}
	s := &subscription{offices: scope.PostOfficeIDs, ch: make(chan Alert, alertBuffer)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		close(s.ch)
		return s.ch, func() {}, true
	}
	a.subs[s] = true
	return s.ch, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.subs[s] {
			delete(a.subs, s)
			close(s.ch)
		}
	}, true
}

// Publish hands an alert to every screen that may see it, never waiting on a slow one.
func (a *Alerts) Publish(alert Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for s := range a.subs {
		if s.offices != nil && !slices.Contains(s.offices, alert.PostOfficeID) {
			continue
		}
		select {
		case s.ch <- alert:
		default:
		}
	}
}

// Subscribers is how many feeds are open.
func (a *Alerts) Subscribers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.subs)
}

// Close ends every feed, so that open screens let the server shut down.
func (a *Alerts) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for s := range a.subs {
		delete(a.subs, s)
		close(s.ch)
	}
}

// Package live fans what is committed out to the dispatchers' open screens: couriers'
// positions, stops' outcomes, quarantined facts and delay alerts, each to the screens of
// its post office only. Storage feeds it from the database's notifications, so that a
// screen hears what any courierd process commits, and only once it is committed.
package live

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// The kinds of event a screen receives.
const (
	KindPosition    = "position"    // a courier's latest point moved
	KindOutcome     = "outcome"     // a stop was done or failed
	KindQuarantined = "quarantined" // a fact from the field waits for a dispatcher
	KindDelayAlert  = "delay_alert" // a courier or a stop runs late (dispatch.DelayAlert)
	// KindPlanProgress: a plan being made found better routes, ended, or failed.
	KindPlanProgress = "plan_progress"
)

// Event is one thing committed, as a screen receives it: ids, codes, times and places,
// never a name, a phone or a payload (the screen reads the record for those).
type Event struct {
	Kind         string          `json:"event"`
	ID           string          `json:"id"` // unique per event of its kind
	PostOfficeID uuid.UUID       `json:"post_office_id"`
	Data         json.RawMessage `json:"data"`
}

// buffer is how many events a slow screen may fall behind before it misses some (the
// lists stay the record; a screen that reconnects reads them again).
const buffer = 256

// Hub fans events out to the dispatchers' open screens, each seeing only its offices'.
type Hub struct {
	mu     sync.Mutex
	subs   map[*subscription]bool
	closed bool
	// fed is whether the database's notifications reach the hub: what commits while it is
	// false reaches no screen.
	fed bool
}

type subscription struct {
	offices []uuid.UUID // nil: every office
	ch      chan Event
}

func NewHub() *Hub { return &Hub{subs: map[*subscription]bool{}} }

// Subscribe opens a feed of the events the caller may see. The channel closes when the
// caller cancels or the hub closes; ok is false for a caller who sees no office's.
func (h *Hub) Subscribe(p auth.Principal) (feed <-chan Event, cancel func(), ok bool) {
	scope := auth.ScopeOf(p)
	offices, dispatcher := scope.PostOffices()
	if !dispatcher && !scope.All() {
		return nil, nil, false
	}
	s := &subscription{offices: offices, ch: make(chan Event, buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return s.ch, func() {}, true
	}
	h.subs[s] = true
	return s.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.subs[s] {
			delete(h.subs, s)
			close(s.ch)
		}
	}, true
}

// Publish hands an event to every screen that may see it, never waiting on a slow one.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.offices != nil && !slices.Contains(s.offices, e.PostOfficeID) {
			continue
		}
		select {
		case s.ch <- e:
		default:
		}
	}
}

// Fed records whether the hub hears the database (storage.WatchLive calls it as its
// connection comes and goes).
func (h *Hub) Fed(listening bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fed = listening
}

// Listening is whether what commits now reaches the open screens.
func (h *Hub) Listening() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fed
}

// Subscribers is how many feeds are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends every feed, so that open screens let the server shut down.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

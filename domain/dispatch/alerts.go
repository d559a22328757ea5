package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// DelayAlert is a cause found late, kept until a dispatcher closes it. It carries ids,
// the stop's receipt code and minutes, never a name or a phone: it travels on the live
// stream to every screen of the office.
type DelayAlert struct {
	ID           uuid.UUID
	Kind         AlertKind
	PostOfficeID uuid.UUID
	PlanID       uuid.UUID
	Day          time.Time
	CourierID    uuid.UUID
	TaskID       uuid.UUID // zero for a courier's alert
	DossierID    uuid.UUID
	Receipt      string
	LateMinutes  int
	Due          *time.Time
	Action       AlertAction
	RaisedAt     time.Time
	ClosedAt     *time.Time
	ClosedBy     uuid.UUID
	Note         string
}

// AlertFilter narrows the alerts listed: an office scope (nil: every office) and open or
// closed (nil: both).
type AlertFilter struct {
	PostOfficeIDs []uuid.UUID
	Closed        *bool
}

// AlertStore keeps delay alerts.
type AlertStore interface {
	// RaiseAlerts keeps the alerts whose cause (kind, courier or stop, day) has none yet,
	// and announces each kept one on the live stream when the transaction commits; it
	// returns how many it kept.
	RaiseAlerts(ctx context.Context, alerts []DelayAlert) (int, error)
	ListAlerts(ctx context.Context, f AlertFilter, page domain.Page) (domain.List[DelayAlert], error)
	// CloseAlert closes an open alert of f's offices with the note, with the audit entry.
	CloseAlert(ctx context.Context, id uuid.UUID, f AlertFilter, by uuid.UUID, note string, at time.Time, entry audit.Entry) error
	// PublishedOffices are the post offices with a published plan for day.
	PublishedOffices(ctx context.Context, day time.Time) ([]uuid.UUID, error)
}

// CheckDelays applies the delay rule to every route of a post office's plan published for
// today and raises an alert for each cause not raised before. It runs for the system,
// when a courier's facts arrive (Nudge) and on a timer, since time passing alone makes a
// courier late. It returns how many alerts it raised.
func (s *Service) CheckDelays(ctx context.Context, postOffice uuid.UUID) (int, error) {
	ctx = system(ctx)
	now := s.now()
	plan, err := s.published(ctx, postOffice, domain.DateOf(now))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return 0, nil // no published plan: nothing to be late on
	}
	if err != nil {
		return 0, err
	}
	_, states, err := s.progress(ctx, plan)
	if err != nil {
		return 0, err
	}
	var raise []DelayAlert
	for _, r := range plan.Routes {
		left, byTask := stopsLeft(r, states)
		for _, d := range Delays(r.CourierID, plan.Day, left, now, s.cfg.Delays) {
			a := DelayAlert{ID: s.newID(), Kind: d.Kind, PostOfficeID: plan.PostOfficeID, PlanID: plan.ID, Day: plan.Day, CourierID: d.CourierID,
				TaskID: d.TaskID, DossierID: d.DossierID, LateMinutes: int(d.Late.Round(time.Minute) / time.Minute), Due: d.Due,
				Action: d.Action, RaisedAt: now}
			if st, ok := byTask[d.TaskID]; ok {
				a.Receipt = st.Receipt
			}
			raise = append(raise, a)
		}
	}
	if len(raise) == 0 {
		return 0, nil
	}
	return s.alerts.RaiseAlerts(ctx, raise)
}

// stopsLeft are a route's stops still to do, in order, and them by task.
func stopsLeft(r Route, states map[uuid.UUID]dossier.TaskState) ([]PlannedStop, map[uuid.UUID]PlannedStop) {
	var left []PlannedStop
	byTask := map[uuid.UUID]PlannedStop{}
	latest := latestVisits(r)
	for k, st := range r.Stops {
		switch states[st.TaskID] {
		case dossier.TaskDone, dossier.TaskFailed, dossier.TaskCancelled:
			continue
		}
		if latest[k] {
			left = append(left, st)
			byTask[st.TaskID] = st
		}
	}
	return left, byTask
}

// CheckAllDelays checks every post office with a plan published for today.
func (s *Service) CheckAllDelays(ctx context.Context) (int, error) {
	offices, err := s.alerts.PublishedOffices(ctx, domain.DateOf(s.now()))
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, o := range offices {
		n, err := s.CheckDelays(ctx, o)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// nudges are the post offices whose delays this process checks because their couriers'
// facts or positions came in. A fleet's traffic must not become as many checks: each
// office is checked at most once every Config.DelayCheckEvery (a nudge meanwhile, or
// during its check, makes one more check when that time is up), at most delayCheckers at
// once, and a courier's office is known from memory, read again at most once a minute.
type nudges struct {
	mu       sync.Mutex
	offices  map[uuid.UUID]*officeNudge
	couriers map[uuid.UUID]courierOffice
	checkers chan struct{}
	check    func(ctx context.Context, office uuid.UUID) error // Service.CheckDelays
}

// officeNudge is one office's checks: one running, or one waiting for its time, and
// whether it was nudged meanwhile.
type officeNudge struct {
	running, waiting, again bool
	last                    time.Time
}

type courierOffice struct {
	office uuid.UUID
	read   time.Time
}

// delayCheckers bounds the checks a process runs at once; courierOfficeTTL is how long
// a courier's office is taken as known.
const (
	delayCheckers    = 2
	courierOfficeTTL = time.Minute
)

func newNudges(check func(ctx context.Context, office uuid.UUID) error) *nudges {
	return &nudges{offices: map[uuid.UUID]*officeNudge{}, couriers: map[uuid.UUID]courierOffice{}, checkers: make(chan struct{}, delayCheckers),
		check: check}
}

// Nudge has the delays of courier's post office checked soon, in the background: their
// facts or position have just been committed. It never waits; failures go to log.
func (s *Service) Nudge(courier uuid.UUID, log *slog.Logger) {
	s.nudged.mu.Lock()
	known, ok := s.nudged.couriers[courier]
	s.nudged.mu.Unlock()
	if ok && time.Since(known.read) < courierOfficeTTL {
		s.nudgeOffice(known.office, log)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(system(context.Background()), 30*time.Second)
		defer cancel()
		c, err := s.catalog.Couriers.Get(ctx, courier.String())
		if err != nil {
			log.Warn("delay check: courier unknown", "courier_id", courier.String(), "error", err.Error())
			return
		}
		s.nudged.mu.Lock()
		s.nudged.couriers[courier] = courierOffice{office: c.PostOfficeID, read: time.Now()}
		s.nudged.mu.Unlock()
		s.nudgeOffice(c.PostOfficeID, log)
	}()
}

// nudgeOffice checks office now, or once its last check is DelayCheckEvery old, or once
// the check running ends.
func (s *Service) nudgeOffice(office uuid.UUID, log *slog.Logger) {
	s.nudged.mu.Lock()
	defer s.nudged.mu.Unlock()
	n := s.nudged.offices[office]
	if n == nil {
		n = &officeNudge{}
		s.nudged.offices[office] = n
	}
	if n.running || n.waiting {
		n.again = true
		return
	}
	if wait := time.Until(n.last.Add(s.cfg.DelayCheckEvery)); wait > 0 {
		n.waiting = true
		time.AfterFunc(wait, func() {
			s.nudged.mu.Lock()
			n.waiting, n.again = false, false
			s.nudged.mu.Unlock()
			s.nudgeOffice(office, log)
		})
		return
	}
	n.running, n.again = true, false
	go func() {
		s.nudged.checkers <- struct{}{}
		ctx, cancel := context.WithTimeout(system(context.Background()), 30*time.Second)
		if err := s.nudged.check(ctx, office); err != nil {
			log.Warn("delay check failed", "post_office_id", office.String(), "error", err.Error())
		}
		cancel()
		<-s.nudged.checkers
		s.nudged.mu.Lock()
		n.running, n.last = false, time.Now()
		again := n.again
		s.nudged.mu.Unlock()
		if again {
			s.nudgeOffice(office, log)
		}
	}()
}

// alertScope is the caller's offices; ok is false for a caller who sees no alerts.
func alertScope(p auth.Principal) (AlertFilter, bool) {
	s := auth.ScopeOf(p)
	if offices, ok := s.PostOffices(); ok {
		return AlertFilter{PostOfficeIDs: offices}, true
	}
	return AlertFilter{}, s.All()
}

// Alerts lists the delay alerts of the caller's offices, newest first.
func (s *Service) Alerts(ctx context.Context, closed *bool, page domain.Page) (domain.List[DelayAlert], error) {
	if err := page.Validate(); err != nil {
		return domain.List[DelayAlert]{}, err
	}
	f, ok := alertScope(auth.PrincipalFrom(ctx))
	if !ok {
		return domain.List[DelayAlert]{}, domain.Errorf(domain.CodeForbidden, "only dispatchers and admins read delay alerts")
	}
	f.Closed = closed
	return s.alerts.ListAlerts(ctx, f, page)
}

// CloseAlert records that a dispatcher dealt with an alert, and how, in a short note.
func (s *Service) CloseAlert(ctx context.Context, id uuid.UUID, note string) error {
	p := auth.PrincipalFrom(ctx)
	f, ok := alertScope(p)
	if !ok {
		return domain.Errorf(domain.CodeForbidden, "only dispatchers and admins close delay alerts")
	}
	note = strings.TrimSpace(note)
	if note == "" || utf8.RuneCountInString(note) > 500 {
		return domain.Invalid("note", "say what was done, in at most 500 characters")
	}
	now := s.now()
	return s.alerts.CloseAlert(ctx, id, f, p.AccountID, note, now, auditEntry(p, now, "delay_alert.close", "delay_alert", id, nil))
}

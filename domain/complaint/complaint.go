// Package complaint keeps citizens' complaints (khiếu nại) about the post's service on
// their dossiers: the applicant files one from the tracking page, a dispatcher of the
// dossier's post office answers it within the legal deadline and closes it, and the
// complaints count in the reports.
//
// Imports allowed: the standard library, courierd/domain and its audit, auth, dossier and
// report packages, uuid.
package complaint

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/report"
)

// Category is what a complaint is about, as citizens complain of the post's dossier service.
type Category string

const (
	Late        Category = "late"         // picked up, handed over or delivered after the promised day
	Damaged     Category = "damaged"      // papers or the result lost, torn, wet
	Rude        Category = "rude"         // the courier's or the counter's manner
	WrongPerson Category = "wrong_person" // the result handed to someone else
	Other       Category = "other"
)

// Categories lists every category, in the order forms offer them.
var Categories = []Category{Late, Damaged, Rude, WrongPerson, Other}

// State is where a complaint stands: open until a dispatcher answers it, answered until
// they close it.
type State string

const (
	Open     State = "open"
	Answered State = "answered"
	Closed   State = "closed"
)

// States lists every state, in the order a complaint goes through them.
var States = []State{Open, Answered, Closed}

// Bounds of the texts, in characters: a complaint says enough to act on, and stays a letter.
const (
	MinText   = 10
	MaxText   = 2000
	MaxAnswer = 4000
)

// Codes of the refusals particular to complaints.
const (
	// CodeAlreadyOpen: the dossier already has an open complaint of this category.
	CodeAlreadyOpen domain.Code = "COMPLAINT_ALREADY_OPEN"
	// CodeWrongState: answering a complaint that is not open, closing one not answered.
	CodeWrongState domain.Code = "COMPLAINT_WRONG_STATE"
)

// ByCategory groups the complaints report per category; ByPostOffice (report's) per office.
const ByCategory report.Grouping = "category"

// Complaint is one complaint about a dossier.
type Complaint struct {
	ID           uuid.UUID
	DossierID    uuid.UUID
	Receipt      dossier.ReceiptCode
	PostOfficeID uuid.UUID
	Category     Category
	Text         string
	State        State
	FiledAt      time.Time
	// DueAt is the instant the answer is late from: the end of the deadline's last day.
	DueAt      time.Time
	Answer     string
	AnsweredAt *time.Time
	AnsweredBy uuid.UUID
	ClosedAt   *time.Time
}

// Overdue reports whether c is still unanswered at now, past its deadline.
func (c Complaint) Overdue(now time.Time) bool { return c.State == Open && !now.Before(c.DueAt) }

// Filter narrows the office's list. PostOfficeIDs nil is every office (cut to the caller's
// scope); Overdue keeps the open complaints past their deadline at Now.
type Filter struct {
	PostOfficeIDs []uuid.UUID
	DossierID     uuid.UUID
	State         State
	Overdue       bool
	Now           time.Time
}

// ReportRow is one group's complaints filed in a period: how many of each category, how
// their answers stood against the deadline, and the time answering took.
type ReportRow struct {
	Key                          string // a post office's id or a category
	Filed                        int
	ByCategory                   map[Category]int
	AnsweredOnTime, AnsweredLate int
	// OpenOverdue are still unanswered at the report's time, past their deadline.
	OpenOverdue int
	// AnswerTimeMean is over the answered ones; nil when none was.
	AnswerTimeMean *time.Duration
}

// Store keeps complaints. File, Answer and Close each write the change and its audit entry
// in one transaction; Answer and Close change only a complaint still in state from,
// answering CodeWrongState otherwise.
type Store interface {
	File(ctx context.Context, c Complaint, entry audit.Entry) error
	Get(ctx context.Context, id uuid.UUID) (Complaint, error)
	List(ctx context.Context, f Filter, page domain.Page) (domain.List[Complaint], error)
	Answer(ctx context.Context, id uuid.UUID, from State, answer string, at time.Time, by uuid.UUID, entry audit.Entry) (Complaint, error)
	Close(ctx context.Context, id uuid.UUID, from State, at time.Time, entry audit.Entry) (Complaint, error)
	Report(ctx context.Context, q report.Query, now time.Time) ([]ReportRow, error)
}

// Service files, lists, answers and closes complaints, and reports on them.
type Service struct {
	store    Store
	dossiers *dossier.Service
	deadline Deadline
	now      func() time.Time
	newID    func() uuid.UUID
}

func NewService(store Store, dossiers *dossier.Service, deadline Deadline, now func() time.Time, newID func() uuid.UUID) *Service {
	return &Service{store: store, dossiers: dossiers, deadline: deadline, now: now, newID: newID}
}

// Deadline is the answer deadline complaints are filed with.
func (s *Service) Deadline() Deadline { return s.deadline }

// File records the applicant's complaint about their dossier. Only its applicant may: any
// other caller is told the dossier does not exist, as for every read of it. A dossier has
// at most one open complaint per category, so that a flood of repeats is refused.
func (s *Service) File(ctx context.Context, dossierID uuid.UUID, category Category, text string) (Complaint, error) {
	text = strings.TrimSpace(text)
	var p domain.Problems
	p.Check(slices.Contains(Categories, category), "category", "must be late, damaged, rude, wrong_person or other")
	n := utf8.RuneCountInString(text)
	p.Check(n >= MinText && n <= MaxText, "text", fmt.Sprintf("must be %d to %d characters", MinText, MaxText))
	if err := p.Err(); err != nil {
		return Complaint{}, err
	}
	principal := auth.PrincipalFrom(ctx)
	d, _, err := s.dossiers.Get(ctx, dossierID)
	if err != nil {
		return Complaint{}, err
	}
	if !auth.ScopeOf(principal).IsApplicant(d.Applicant.PhoneIndex) {
		return Complaint{}, domain.Errorf(domain.CodeNotFound, "no such dossier")
	}
	now := s.now().UTC().Truncate(time.Microsecond) // as PostgreSQL keeps it
	c := Complaint{ID: s.newID(), DossierID: d.ID, Receipt: d.Receipt, PostOfficeID: d.PostOfficeID, Category: category, Text: text,
		State: Open, FiledAt: now, DueAt: s.deadline.Due(now)}
	entry := audit.Entry{At: now, ActorRole: string(principal.Role), Source: principal.Source, Action: "complaint.file",
		ResourceKind: "complaint", ResourceID: c.ID.String(), Detail: map[string]any{"dossier_id": d.ID.String(), "category": string(category)}}
	return c, s.store.File(ctx, c, entry)
}

// Mine lists the complaints about one of the caller's own dossiers, newest first.
func (s *Service) Mine(ctx context.Context, dossierID uuid.UUID, page domain.Page) (domain.List[Complaint], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Complaint]{}, err
	}
	if _, _, err := s.dossiers.Get(ctx, dossierID); err != nil {
		return domain.List[Complaint]{}, err
	}
	return s.store.List(ctx, Filter{DossierID: dossierID, Now: s.now()}, page)
}

// List is the complaints of the post offices the caller answers for (an admin's: every
// office's), newest first.
func (s *Service) List(ctx context.Context, f Filter, page domain.Page) (domain.List[Complaint], error) {
	var p domain.Problems
	p.Check(f.State == "" || slices.Contains(States, f.State), "state", "must be open, answered or closed")
	if err := p.Err(); err != nil {
		return domain.List[Complaint]{}, err
	}
	if err := page.Validate(); err != nil {
		return domain.List[Complaint]{}, err
	}
	scope := auth.ScopeOf(auth.PrincipalFrom(ctx))
	offices, dispatcher := scope.PostOffices()
	switch {
	case dispatcher && f.PostOfficeIDs == nil:
		f.PostOfficeIDs = offices
	case dispatcher:
		// An office asked for that is not theirs shows nothing, as if it had no complaints.
		f.PostOfficeIDs = slices.DeleteFunc(slices.Clone(f.PostOfficeIDs), func(id uuid.UUID) bool { return !scope.SeesOffice(id) })
	case !scope.All():
		return domain.List[Complaint]{}, domain.Errorf(domain.CodeForbidden, "only the post's dispatchers and admins see complaints")
	}
	f.Now = s.now()
	return s.store.List(ctx, f, page)
}

// Get is one complaint of an office the caller answers for; any other is NOT_FOUND.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Complaint, error) {
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return Complaint{}, err
	}
	if !auth.ScopeOf(auth.PrincipalFrom(ctx)).SeesOffice(c.PostOfficeID) {
		return Complaint{}, domain.Errorf(domain.CodeNotFound, "no such complaint")
	}
	return c, nil
}

// Answer records the office's answer to an open complaint; the applicant sees it.
func (s *Service) Answer(ctx context.Context, id uuid.UUID, answer string) (Complaint, error) {
	answer = strings.TrimSpace(answer)
	n := utf8.RuneCountInString(answer)
	if n < 1 || n > MaxAnswer {
		return Complaint{}, domain.Invalid("answer", fmt.Sprintf("must be 1 to %d characters", MaxAnswer))
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Complaint{}, err
	}
	if c.State != Open {
		return Complaint{}, WrongState(c.State, Answered)
	}
	p := auth.PrincipalFrom(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), Source: p.Source, Action: "complaint.answer",
		ResourceKind: "complaint", ResourceID: id.String(), Detail: map[string]any{"late": !now.Before(c.DueAt)}}
	return s.store.Answer(ctx, id, Open, answer, now, p.AccountID, entry)
}

// Close closes an answered complaint.
func (s *Service) Close(ctx context.Context, id uuid.UUID) (Complaint, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Complaint{}, err
	}
	if c.State != Answered {
		return Complaint{}, WrongState(c.State, Closed)
	}
	p := auth.PrincipalFrom(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), Source: p.Source, Action: "complaint.close",
		ResourceKind: "complaint", ResourceID: id.String()}
	return s.store.Close(ctx, id, Answered, now, entry)
}

// WrongState refuses to take a complaint in state to state to.
func WrongState(state, to State) error {
	return domain.Errorf(CodeWrongState, "the complaint is %s: it cannot become %s", state, to)
}

// Report is the complaints filed in the civil days [from, to) at the offices the caller
// answers for (or the one office asked for), per post office or per category, with their answers against the deadline
// as they stand now.
func (s *Service) Report(ctx context.Context, from, to time.Time, by report.Grouping, office uuid.UUID) ([]ReportRow, error) {
	var p domain.Problems
	p.Check(by == report.ByPostOffice || by == ByCategory, "by", "must be post_office or category")
	q, ok, err := report.Period(ctx, &p, from, to, by, office)
	if err != nil || !ok {
		return []ReportRow{}, err
	}
	return s.store.Report(ctx, q, s.now())
}

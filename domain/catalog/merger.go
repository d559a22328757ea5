package catalog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// AdminUnitStore is the persistence port of administrative units: a Store whose Get takes
// an id or a code (the current unit with the code, else the one that ended last), and
// which records mergers.
type AdminUnitStore interface {
	Store[AdminUnit, AdminUnitFilter]
	// Merge ends each merged unit on date, naming successor, in one transaction; create
	// inserts successor first (after the merged units ended, so it may reuse one of their
	// codes). CONFLICT when a merged unit ended meanwhile or successor's code is taken.
	Merge(ctx context.Context, merged []AdminUnit, successor AdminUnit, create bool, date time.Time) (AdminUnit, []AdminUnit, error)
}

// Merger is a reform's act on some units: from Date they are one unit, an existing one
// (IntoCode) or a new one (NewUnit), whose code may be one of theirs.
type Merger struct {
	Date        time.Time // the first day the merged units no longer exist
	MergedCodes []string
	IntoCode    string
	NewUnit     *AdminUnit
}

// maxSuccessions bounds a walk along successors; mergers only ever name a current unit,
// so a chain cannot loop, and no reform merges units this many times.
const maxSuccessions = 64

// MergeAdminUnits records a merger that took effect on or before today, and returns the
// successor and the units that ended.
func (c *Catalog) MergeAdminUnits(ctx context.Context, m Merger, today time.Time) (AdminUnit, []AdminUnit, error) {
	var p domain.Problems
	p.Check(!m.Date.IsZero() && !m.Date.After(today), "date", "must be the day the merger took effect, today or earlier, as YYYY-MM-DD")
	p.Check(len(m.MergedCodes) >= 1 && len(m.MergedCodes) <= 100, "merged_codes", "name 1 to 100 units that merge")
	p.Check((m.IntoCode == "") != (m.NewUnit == nil), "into_code", "name the existing unit they join, or describe the new_unit, one of the two")
	if err := p.Err(); err != nil {
		return AdminUnit{}, nil, err
	}
	merged := make([]AdminUnit, 0, len(m.MergedCodes))
	for i, code := range m.MergedCodes {
		field := fmt.Sprintf("merged_codes[%d]", i)
		u, err := c.mergers.Get(ctx, code)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			p.Add(field, "names no administrative unit")
			continue
		}
		if err != nil {
			return AdminUnit{}, nil, err
		}
		p.Check(u.Current(), field, "ended already")
		p.Check(!slices.ContainsFunc(merged, func(o AdminUnit) bool { return o.ID == u.ID }), field, "is named twice")
		p.Check(u.ValidFrom == nil || u.ValidFrom.Before(m.Date), field, "came into being on or after the merger's date")
		merged = append(merged, u)
	}
	successor, err := c.successorOf(ctx, m, merged)
	if err != nil {
		return AdminUnit{}, nil, err
	}
	for i, u := range merged {
		p.Check(u.Level == successor.Level, fmt.Sprintf("merged_codes[%d]", i), "is not of the level of the unit it merges into")
	}
	if err := p.Err(); err != nil {
		return AdminUnit{}, nil, err
	}
	return c.mergers.Merge(ctx, merged, successor, m.NewUnit != nil, m.Date)
}

// successorOf is the unit a merger's units become: the existing current unit named, not
// one of them; or the new unit described, valid from the merger's date, whose code no
// current unit but a merged one holds.
func (c *Catalog) successorOf(ctx context.Context, m Merger, merged []AdminUnit) (AdminUnit, error) {
	isMerged := func(u AdminUnit) bool {
		return slices.ContainsFunc(merged, func(o AdminUnit) bool { return o.ID == u.ID })
	}
	if m.NewUnit == nil {
		into, err := c.mergers.Get(ctx, m.IntoCode)
		switch {
		case domain.ErrorCode(err) == domain.CodeNotFound:
			return into, domain.Invalid("into_code", "names no administrative unit")
		case err != nil:
			return into, err
		case !into.Current() || isMerged(into):
			return into, domain.Invalid("into_code", "must name a unit that still exists and is not merged away")
		}
		return into, nil
	}
	u := *m.NewUnit
	date := m.Date
	u.ID, u.ValidFrom, u.ValidTo, u.SuccessorID = c.newID(), &date, nil, uuid.Nil
	if err := u.Validate(); err != nil {
		return u, prefixFields(err, "new_unit.")
	}
	if err := checkAdminParent(ctx, c.mergers, u); err != nil {
		return u, prefixFields(err, "new_unit.")
	}
	holder, err := c.mergers.Get(ctx, u.Code)
	switch {
	case err == nil && holder.Current() && !isMerged(holder):
		e := domain.Errorf(domain.CodeConflict, "a unit that does not merge holds the code %s", u.Code)
		e.Fields = []domain.FieldError{{Field: "new_unit.code", Reason: "is held by a unit that still exists"}}
		return u, e
	case err != nil && domain.ErrorCode(err) != domain.CodeNotFound:
		return u, err
	}
	return u, nil
}

// prefixFields names a validation error's fields inside the object at prefix.
func prefixFields(err error, prefix string) error {
	e, ok := domain.AsError(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]domain.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		out.Fields[i] = domain.FieldError{Field: prefix + f.Field, Reason: f.Reason}
	}
	return &out
}

// ResolveAdminUnit is the unit an address given with code is in today: the unit with that
// code, followed along its successors while it has ended. NOT_FOUND for an unknown code.
func (c *Catalog) ResolveAdminUnit(ctx context.Context, code string) (AdminUnit, error) {
	u, err := c.AdminUnits.Get(ctx, code)
	for hops := 0; err == nil && !u.Current() && u.SuccessorID != uuid.Nil; hops++ {
		if hops == maxSuccessions {
			return u, fmt.Errorf("administrative unit %s: %d successions and no end", code, hops)
		}
		u, err = c.AdminUnits.Get(ctx, u.SuccessorID.String())
	}
	return u, err
}

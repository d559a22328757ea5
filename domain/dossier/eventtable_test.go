package dossier_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/dossier"
)

// TestEventTable: every dossier event has its row, and every row says who reports it,
// where it leads and how the applicant reads it, in terms the rest of the package knows.
func TestEventTable(t *testing.T) {
	for _, e := range dossier.Events {
		rule, ok := dossier.EventRules[e]
		if !ok {
			t.Errorf("%s has no row in the event table", e)
			continue
		}
		if len(rule.By) == 0 {
			t.Errorf("%s: no role may report it", e)
		}
		if vi, en, ok := dossier.Wording(dossier.EventRecord{Event: e}); !ok || vi == "" || en == "" {
			t.Errorf("%s: the applicant's timeline lacks words for it (vi %q, en %q)", e, vi, en)
		}
		if len(rule.Moves) == 0 {
			t.Errorf("%s: no state takes it", e)
		}
		for from, to := range rule.Moves {
			if !slices.Contains(dossier.States, from) || !slices.Contains(dossier.States, to) {
				t.Errorf("%s: %s → %s names a state that is not in States", e, from, to)
			}
		}
		if m := rule.Task; m != (dossier.TaskMove{}) && !slices.Contains(dossier.TaskEvents, m.Event) {
			t.Errorf("%s moves its %s stop by %q, no task event", e, m.Kind, m.Event)
		}
		if rule.Notice != "" && !slices.Contains(dossier.Notices, rule.Notice) {
			t.Errorf("%s sends %q, no notice", e, rule.Notice)
		}
		if rule.NoticeIf != nil && rule.Notice == "" {
			t.Errorf("%s: a condition on a notice it does not send", e)
		}
		if h, ok := dossier.CustodyRules[e]; ok != (rule.Custody != nil) || (ok && !slices.Equal(h.By, rule.By)) {
			t.Errorf("%s: CustodyRules does not show its row's handover as recorded by its row's roles", e)
		}
		if rule.Implies != "" && dossier.EventRules[rule.Implies].Custody == nil {
			t.Errorf("%s implies %s, which hands nothing over", e, rule.Implies)
		}
	}
	for e := range dossier.EventRules {
		if !slices.Contains(dossier.Events, e) {
			t.Errorf("the table has a row for %s, which Events does not list", e)
		}
	}
	for e := range dossier.CustodyRules {
		if _, ok := dossier.EventRules[e]; !ok && e != dossier.EventLodge {
			t.Errorf("CustodyRules lists %s, which has no row", e)
		}
	}
}

// TestEventFields: for every event and every field, generated from the table, an input
// carrying the field is refused on it exactly when the event neither needs nor takes it,
// and an input lacking a field the event needs is refused on it.
func TestEventFields(t *testing.T) {
	today := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	carrying := map[dossier.Field]func(*dossier.EventInput){
		dossier.FieldCourier:   func(in *dossier.EventInput) { in.CourierID = uuid.MustParse("00000000-0000-0000-0000-00000000c0c0") },
		dossier.FieldDate:      func(in *dossier.EventInput) { in.Date = today },
		dossier.FieldSlot:      func(in *dossier.EventInput) { in.Slot = &dossier.Slot{StartMin: 480, EndMin: 600} },
		dossier.FieldChoice:    func(in *dossier.EventInput) { in.Choice = dossier.ChoicePostOffice },
		dossier.FieldDocuments: func(in *dossier.EventInput) { in.DocumentsChecked = []string{"Tờ khai"} },
	}
	// What a field's absence is reported as, when an event needs it.
	missing := map[dossier.Field]string{dossier.FieldCourier: "courier_id", dossier.FieldDate: "date", dossier.FieldChoice: "choice",
		dossier.FieldReason: "reason", dossier.FieldRecipient: "recipient", dossier.FieldIdentity: "proof.identity_method"}
	for _, e := range dossier.Events {
		rule := dossier.EventRules[e]
		takes := func(f dossier.Field) bool { return slices.Contains(rule.Needs, f) || slices.Contains(rule.Takes, f) }
		for f, set := range carrying {
			in := dossier.EventInput{Event: e, Version: 1}
			set(&in)
			if refused := fieldErrors(dossier.CheckInput(in, today))[string(f)]; refused == takes(f) {
				t.Errorf("%s carrying %s: refused = %v, but the row takes it = %v", e, f, refused, takes(f))
			}
		}
		got := fieldErrors(dossier.CheckInput(dossier.EventInput{Event: e, Version: 1}, today))
		for _, f := range rule.Needs {
			if !got[missing[f]] {
				t.Errorf("%s without %s: not refused on %s", e, f, missing[f])
			}
		}
		if rule.Note != "" && !got["note"] {
			t.Errorf("%s without a note: not refused", e)
		}
		if len(rule.Needs) == 0 && rule.Note == "" && len(got) > 0 {
			t.Errorf("%s needs nothing, yet a bare input is refused on %v", e, got)
		}
	}
}

func fieldErrors(err error) map[string]bool {
	fields := map[string]bool{}
	if e, ok := domain.AsError(err); ok {
		for _, f := range e.Fields {
			fields[f.Field] = true
		}
	}
	return fields
}

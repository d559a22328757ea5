package storage_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/complaint"
	"courierd/domain/demo"
	"courierd/domain/report"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestComplaintReportMatchesGeneratedHistory files a few hundred complaints over a year,
// on dossiers of both demo offices, over random categories, deadlines of months and days,
// answers before and after their deadline, or none; then asks the report, the office's list
// and its overdue filter over random periods, groupings, offices and "now"s, and compares
// each with what the test counts from the history it generated. Every act wrote its audit
// entry in its transaction, and the one-open rule and the state rules are refused coded.
func TestComplaintReportMatchesGeneratedHistory(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.New(t)
	ctx := context.Background()
	ds := demo.Build(1, 0)
	for i := range ds.Accounts {
		ds.Accounts[i].PasswordHash = "not used"
	}
	if _, err := storage.SeedDemo(ctx, db, ds, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO dossiers (id, receipt_code, procedure_id, agency_id, post_office_id, applicant_name,
			applicant_phone, applicant_phone_index, citizen_id_sealed, citizen_id_index, citizen_id_tail, applicant_address, admin_unit_code, lon, lat,
			pickup, return_by_post, fee_vnd, postage_vnd, payment_method, channel, outside_service_area, state, holder_kind, holder_id, version, created_at, updated_at)
		SELECT gen_random_uuid(), 'C' || i, (SELECT id FROM procedures LIMIT 1), (SELECT id FROM agencies LIMIT 1),
			(SELECT id FROM post_offices ORDER BY id OFFSET i % 2 LIMIT 1), 'x', '0912345678', 'i', 's', 'c' || i, '123', 'a',
			(SELECT code FROM admin_units LIMIT 1), 106.68, 10.97, true, true, 0, 0, 'nothing_due', 'dispatcher', false, 'delivered',
			'applicant', gen_random_uuid(), 1, now(), now()
		FROM generate_series(1, 40) i`); err != nil {
		t.Fatal(err)
	}
	type dossierRef struct{ ID, PostOfficeID uuid.UUID }
	var dossiers []dossierRef
	rows, err := db.SQL().QueryContext(ctx, `SELECT id, post_office_id FROM dossiers WHERE receipt_code LIKE 'C%' ORDER BY receipt_code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d dossierRef
		if err := rows.Scan(&d.ID, &d.PostOfficeID); err != nil {
			t.Fatal(err)
		}
		dossiers = append(dossiers, d)
	}
	store := storage.NewComplaintStore(db)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 24))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, domain.Vietnam)
	deadlines := []complaint.Deadline{complaint.LegalDeadline, {Months: 1}, {Days: 15}, {Days: 3}}
	entry := func(action string, id uuid.UUID) audit.Entry {
		return audit.Entry{At: start, ActorRole: "system", Action: action, ResourceKind: "complaint", ResourceID: id.String()}
	}
	var made []complaint.Complaint
	acts := 0
	for range 300 {
		d := dossiers[rng.IntN(len(dossiers))]
		filed := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).UTC().Truncate(time.Microsecond)
		c := complaint.Complaint{ID: uuid.New(), DossierID: d.ID, Receipt: "C", PostOfficeID: d.PostOfficeID,
			Category: complaint.Categories[rng.IntN(len(complaint.Categories))], Text: "the courier came two days late",
			State: complaint.Open, FiledAt: filed, DueAt: deadlines[rng.IntN(len(deadlines))].Due(filed)}
		err := store.File(ctx, c, entry("complaint.file", c.ID))
		if slices.ContainsFunc(made, func(m complaint.Complaint) bool {
			return m.DossierID == c.DossierID && m.Category == c.Category && m.State == complaint.Open
		}) {
			wantCode(t, err, complaint.CodeAlreadyOpen)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		acts++
		// Three in four are answered, some after their deadline; half of those closed.
		if rng.IntN(4) > 0 {
			at := filed.Add(time.Duration(rng.Int64N(int64(80 * 24 * time.Hour)))).Truncate(time.Microsecond)
			if c, err = store.Answer(ctx, c.ID, complaint.Open, "we are sorry", at, uuid.Nil, entry("complaint.answer", c.ID)); err != nil {
				t.Fatal(err)
			}
			acts++
			if rng.IntN(2) == 0 {
				if c, err = store.Close(ctx, c.ID, complaint.Answered, at.Add(time.Hour), entry("complaint.close", c.ID)); err != nil {
					t.Fatal(err)
				}
				acts++
			}
		}
		made = append(made, c)
	}
	if len(made) < 150 {
		t.Fatalf("only %d complaints filed of 300", len(made))
	}
	// The state rules hold in the store too, whatever the service checked before.
	for i, c := range made[:20] {
		closed, err := store.Close(ctx, c.ID, complaint.Answered, c.FiledAt.Add(time.Hour), entry("complaint.close", c.ID))
		if c.State == complaint.Answered {
			if err != nil {
				t.Fatal(err)
			}
			made[i] = closed
			acts++
			continue
		}
		wantCode(t, err, complaint.CodeWrongState)
	}
	var audited int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE resource_kind = 'complaint'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != acts {
		t.Fatalf("%d audit entries for %d acts", audited, acts)
	}
	offices := []uuid.UUID{ds.PostOffices[0].ID, ds.PostOffices[1].ID}
	for round := range 40 {
		from := domain.DateOf(start.AddDate(0, 0, rng.IntN(300)))
		to := from.AddDate(0, 0, 1+rng.IntN(120))
		now := start.Add(time.Duration(rng.Int64N(int64(500 * 24 * time.Hour))))
		by := []report.Grouping{report.ByPostOffice, complaint.ByCategory}[round%2]
		q := report.Query{From: domain.Midnight(from), To: domain.Midnight(to), By: by}
		if round%3 == 0 {
			q.PostOfficeIDs = offices[round%2 : round%2+1]
		}
		got, err := store.Report(ctx, q, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*complaint.ReportRow{}
		sums := map[string]time.Duration{}
		for _, c := range made {
			if c.FiledAt.Before(q.From) || !c.FiledAt.Before(q.To) || q.PostOfficeIDs != nil && c.PostOfficeID != q.PostOfficeIDs[0] {
				continue
			}
			key := c.PostOfficeID.String()
			if by == complaint.ByCategory {
				key = string(c.Category)
			}
			r := want[key]
			if r == nil {
				r = &complaint.ReportRow{Key: key, ByCategory: map[complaint.Category]int{}}
				want[key] = r
			}
			r.Filed++
			r.ByCategory[c.Category]++
			switch {
			case c.AnsweredAt == nil && c.Overdue(now):
				r.OpenOverdue++
			case c.AnsweredAt == nil:
			case c.AnsweredAt.Before(c.DueAt):
				r.AnsweredOnTime++
			default:
				r.AnsweredLate++
			}
			if c.AnsweredAt != nil {
				sums[key] += c.AnsweredAt.Sub(c.FiledAt)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("round %d (%s, %s to %s): %d rows, want %d", round, by, from, to, len(got), len(want))
		}
		for _, g := range got {
			w := want[g.Key]
			if w == nil || g.Filed != w.Filed || g.AnsweredOnTime != w.AnsweredOnTime || g.AnsweredLate != w.AnsweredLate || g.OpenOverdue != w.OpenOverdue {
				t.Fatalf("round %d (%s): row %+v, want %+v", round, by, g, w)
			}
			for _, cat := range complaint.Categories {
				if g.ByCategory[cat] != w.ByCategory[cat] {
					t.Fatalf("round %d: %s %s: %d, want %d", round, g.Key, cat, g.ByCategory[cat], w.ByCategory[cat])
				}
			}
			answered := w.AnsweredOnTime + w.AnsweredLate
			if answered == 0 != (g.AnswerTimeMean == nil) {
				t.Fatalf("round %d: %s: mean %v with %d answered", round, g.Key, g.AnswerTimeMean, answered)
			}
			if answered > 0 {
				if diff := *g.AnswerTimeMean - sums[g.Key]/time.Duration(answered); diff > time.Millisecond || diff < -time.Millisecond {
					t.Fatalf("round %d: %s: mean %v, want %v", round, g.Key, *g.AnswerTimeMean, sums[g.Key]/time.Duration(answered))
				}
			}
		}
		// The office's overdue list is the open ones past their deadline at now.
		f := complaint.Filter{PostOfficeIDs: offices[round%2 : round%2+1], Overdue: true, Now: now}
		list, err := store.List(ctx, f, domain.Page{Limit: domain.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		overdue := 0
		for _, c := range made {
			if c.PostOfficeID == f.PostOfficeIDs[0] && c.Overdue(now) {
				overdue++
			}
		}
		if list.Total != overdue || len(list.Items) != overdue {
			t.Fatalf("round %d: %d overdue listed (total %d), want %d", round, len(list.Items), list.Total, overdue)
		}
	}
	// The list pages by cursor through every complaint exactly once, newest first.
	var seen []uuid.UUID
	page := domain.Page{Limit: 1 + rng.IntN(40)}
	for {
		list, err := store.List(ctx, complaint.Filter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range list.Items {
			if i > 0 && c.FiledAt.After(list.Items[i-1].FiledAt) {
				t.Fatalf("not newest first: %v after %v", c.FiledAt, list.Items[i-1].FiledAt)
			}
			seen = append(seen, c.ID)
		}
		if list.NextCursor == "" {
			break
		}
		page.Cursor = list.NextCursor
	}
	slices.SortFunc(seen, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if len(slices.Compact(seen)) != len(made) {
		t.Fatalf("paged through %d distinct complaints, want %d", len(slices.Compact(seen)), len(made))
	}
}

// BenchmarkComplaintReport times the complaints report over 200,000 complaints filed over a
// year at the demo's two offices: one office's month, and every office's year, by office
// and by category.
func BenchmarkComplaintReport(b *testing.B) {
	db, _ := dbtest.New(b)
	ctx := context.Background()
	ds := demo.Build(1, 0)
	for i := range ds.Accounts {
		ds.Accounts[i].PasswordHash = "not used"
	}
	if _, err := storage.SeedDemo(ctx, db, ds, false); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO dossiers (id, receipt_code, procedure_id, agency_id, post_office_id, applicant_name,
			applicant_phone, applicant_phone_index, citizen_id_sealed, citizen_id_index, citizen_id_tail, applicant_address, admin_unit_code, lon, lat,
			pickup, return_by_post, fee_vnd, postage_vnd, payment_method, channel, outside_service_area, state, holder_kind, holder_id, version, created_at, updated_at)
		SELECT gen_random_uuid(), 'B' || i, (SELECT id FROM procedures LIMIT 1), (SELECT id FROM agencies LIMIT 1),
			(SELECT id FROM post_offices ORDER BY id OFFSET i % 2 LIMIT 1), 'x', '0912345678', 'i', 's', 'c' || i, '123', 'a',
			(SELECT code FROM admin_units LIMIT 1), 106.68, 10.97, true, true, 0, 0, 'nothing_due', 'dispatcher', false, 'delivered',
			'applicant', gen_random_uuid(), 1, now(), now()
		FROM generate_series(1, 50000) i`,
		`INSERT INTO complaints (id, dossier_id, receipt_code, post_office_id, category, text, state, filed_at, due_at, answer, answered_at)
		SELECT gen_random_uuid(), d.id, d.receipt_code, d.post_office_id, (ARRAY['late','damaged','rude','wrong_person','other'])[1 + k % 5],
			'the courier came two days late', CASE WHEN k % 4 = 0 THEN 'open' ELSE 'answered' END, t, t + interval '2 months',
			CASE WHEN k % 4 = 0 THEN '' ELSE 'sorry' END, CASE WHEN k % 4 = 0 THEN NULL ELSE t + (k % 90) * interval '1 day' END
		FROM dossiers d, generate_series(1, 4) k, LATERAL (SELECT now() - ((hashtext(d.id::text || k) & 65535) % 365) * interval '1 day' AS t) x
		WHERE d.receipt_code LIKE 'B%'`,
		`ANALYZE complaints`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	store := storage.NewComplaintStore(db)
	now := time.Now()
	for _, c := range []struct {
		name string
		q    report.Query
	}{
		{"office-month", report.Query{From: domain.Midnight(domain.DateOf(now).AddDate(0, -1, 0)), To: domain.Midnight(domain.DateOf(now)),
			By: report.ByPostOffice, PostOfficeIDs: []uuid.UUID{ds.PostOffices[0].ID}}},
		{"all-year-by-category", report.Query{From: domain.Midnight(domain.DateOf(now).AddDate(-1, 0, 0)), To: domain.Midnight(domain.DateOf(now).AddDate(0, 0, 1)),
			By: complaint.ByCategory}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := store.Report(ctx, c.q, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

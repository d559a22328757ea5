package dossier_test

import (
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/dossier"
)

var (
	ledgerDossier = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	ledgerCourier = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	ledgerOffice  = uuid.MustParse("33333333-3333-4333-8333-333333333333")
	ledgerAgency  = uuid.MustParse("44444444-4444-4444-8444-444444444444")
	ledgerActor   = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	ledgerFirst   = time.Date(2026, 4, 20, 1, 30, 0, 0, time.UTC)
)

func ptrTo[T any](v T) *T { return &v }

// ledger is a dossier's five handovers, chained by hand as the service writes them:
// applicant → courier → post office → agency → post office → applicant.
func ledger() []dossier.CustodyEntry {
	applicant := dossier.Party{Kind: dossier.PartyApplicant, ID: ledgerDossier}
	courier := dossier.Party{Kind: dossier.PartyCourier, ID: ledgerCourier}
	office := dossier.Party{Kind: dossier.PartyPostOffice, ID: ledgerOffice}
	agency := dossier.Party{Kind: dossier.PartyAgency, ID: ledgerAgency}
	steps := []struct {
		item     string
		from, to dossier.Party
		event    dossier.Event
	}{
		{"dossier", applicant, courier, dossier.EventPickUp},
		{"dossier", courier, office, dossier.EventArrivePostOffice},
		{"dossier", office, agency, dossier.EventHandToAgency},
		{"result", agency, office, dossier.EventCollectResult},
		{"result", office, applicant, dossier.EventCollectAtCounter},
	}
	entries := make([]dossier.CustodyEntry, len(steps))
	prev := ""
	for i, s := range steps {
		at := ledgerFirst.Add(time.Duration(i) * 3 * time.Hour)
		e := dossier.CustodyEntry{DossierID: ledgerDossier, Seq: i + 1, Item: s.item, From: s.from, To: s.to, Event: s.event,
			Point: &orb.Point{105.8342 + float64(i)/1000, 21.0278}, AccuracyM: 12.5, DeviceTime: ptrTo(at.Add(-40 * time.Second)),
			ServerTime: at, ActorID: ledgerActor, PrevHash: prev,
			Proof: dossier.Proof{SignatureSHA256: "5a1b", PhotoSHA256: "9f0e", SealNumber: "HN-0042", ManifestID: ledgerActor,
				RecipientName: "Nguyễn Thị Hoa", IdentityMethod: "CCCD chip"}}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		entries[i] = e
	}
	return entries
}

// rehash recomputes entry i's hash, as a forger who knows the scheme would.
func rehash(entries []dossier.CustodyEntry, i int) {
	entries[i].Hash = entries[i].ComputeHash()
}

func TestVerifyChainIntact(t *testing.T) {
	entries := ledger()
	cases := []struct {
		name    string
		entries []dossier.CustodyEntry
		count   int
		head    string
	}{
		{"five handovers", entries, 5, entries[4].Hash},
		{"no handover yet", nil, 0, ""},
		{"first handover only", entries[:1], 1, entries[0].Hash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dossier.VerifyChain(c.entries, c.count, c.head)
			want := dossier.Verification{Intact: true, Entries: len(c.entries)}
			if got != want {
				t.Errorf("VerifyChain = %+v, want %+v", got, want)
			}
		})
	}
}

func TestVerifyChainCatchesTampering(t *testing.T) {
	type tamper struct {
		name  string
		edit  func([]dossier.CustodyEntry) []dossier.CustodyEntry
		count int // the dossier's recorded count; 0 means 5
		head  func(original []dossier.CustodyEntry) string
		want  int // FirstBroken, or anyEntry
	}
	const anyEntry = -1
	oldHead := func(o []dossier.CustodyEntry) string { return o[4].Hash }
	groups := []struct {
		name  string
		cases []tamper
	}{
		{"the changed entry is named", []tamper{
			{name: "entry 3 handed to someone else", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].To.ID = uuid.MustParse("66666666-6666-4666-8666-666666666666")
				return e
			}},
			{name: "entry 3 backdated by a second", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].ServerTime = e[2].ServerTime.Add(-time.Second)
				return e
			}},
			{name: "entry 3 seal number", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].Proof.SealNumber = "HN-0043"
				return e
			}},
			{name: "entry 3 moved 100 m", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].Point = &orb.Point{e[2].Point.Lon() + 0.001, e[2].Point.Lat()}
				return e
			}},
			{name: "entry 3 location erased", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].Point = nil
				return e
			}},
			{name: "entry 3 hash overwritten", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].Hash = e[1].Hash
				return e
			}},
			{name: "entry 1 event", want: 1, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[0].Event = dossier.EventHandToAgency
				return e
			}},
			{name: "entry 5 recipient", want: 5, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[4].Proof.RecipientName = "Someone Else"
				return e
			}},
		}},
		{"a rehashed entry breaks the next link", []tamper{
			{name: "entry 3 changed and rehashed", want: 4, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].To.ID = uuid.MustParse("66666666-6666-4666-8666-666666666666")
				rehash(e, 2)
				return e
			}},
			{name: "entry 1 changed and rehashed", want: 2, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[0].ServerTime = e[0].ServerTime.Add(time.Hour)
				rehash(e, 0)
				return e
			}},
		}},
		{"a missing or misplaced entry is named", []tamper{
			{name: "entry 2 deleted", want: 2, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				return slices.Delete(e, 1, 2)
			}},
			{name: "entry 1 deleted", want: 1, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				return e[1:]
			}},
			{name: "entries 2 and 3 swapped", want: 2, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[1], e[2] = e[2], e[1]
				return e
			}},
			{name: "entries 4 and 5 swapped and renumbered", want: 4, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[3], e[4] = e[4], e[3]
				e[3].Seq, e[4].Seq = 4, 5
				return e
			}},
			{name: "entry 2 replayed", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				return slices.Insert(e, 2, e[1])
			}},
			{name: "entry 3 renumbered", want: 3, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				e[2].Seq = 7
				return e
			}},
		}},
		{"the dossier's count and head catch the tail", []tamper{
			{name: "last entry deleted", want: 5, head: oldHead, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				return e[:4]
			}},
			{name: "last two entries deleted", want: 4, head: oldHead, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				return e[:3]
			}},
			{name: "last entry deleted and count lowered", count: 4, want: 5, head: oldHead,
				edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry { return e[:4] }},
			{name: "extra entry appended", want: 6, head: oldHead, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				extra := e[4]
				extra.Seq, extra.PrevHash, extra.To = 6, e[4].Hash, dossier.Party{Kind: dossier.PartyCourier, ID: ledgerCourier}
				extra.Hash = extra.ComputeHash()
				return append(e, extra)
			}},
			{name: "entries 3 to 5 rewritten and rehashed", want: anyEntry, head: oldHead, edit: func(e []dossier.CustodyEntry) []dossier.CustodyEntry {
				// A forger who rebuilds the whole tail passes every link; only the head
				// the dossier kept tells, and it cannot say which entry was changed.
				e[2].Proof.SealNumber = "HN-9999"
				for i := 2; i < 5; i++ {
					if i > 2 {
						e[i].PrevHash = e[i-1].Hash
					}
					rehash(e, i)
				}
				return e
			}},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					original := ledger()
					count, head := 5, original[4].Hash
					if c.count != 0 {
						count = c.count
					}
					if c.head != nil {
						head = c.head(original)
					}
					entries := c.edit(ledger())
					got := dossier.VerifyChain(entries, count, head)
					named := got.FirstBroken == c.want || c.want == anyEntry && got.FirstBroken > 0
					if got.Intact || !named || got.Reason == "" || got.Entries != len(entries) {
						t.Errorf("VerifyChain = %+v; want not intact, FirstBroken %d, a reason, Entries %d", got, c.want, len(entries))
					}
				})
			}
		})
	}
}

func TestComputeHash(t *testing.T) {
	base := ledger()[2]

	t.Run("deterministic", func(t *testing.T) {
		h := base.ComputeHash()
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
			t.Fatalf("ComputeHash = %q, want 64 lower-case hex digits (SHA-256)", h)
		}
		again := ledger()[2]
		if again.ComputeHash() != h || base.ComputeHash() != h {
			t.Error("ComputeHash differs for equal entries")
		}
	})

	t.Run("survives storage", func(t *testing.T) {
		// A database hands times back in another zone and without a monotonic reading,
		// and a fresh copy of pointers; the hash must not notice.
		stored := base
		stored.ServerTime = base.ServerTime.In(domain.Vietnam).Round(0)
		stored.DeviceTime = ptrTo(base.DeviceTime.In(time.FixedZone("X", -5*3600)))
		stored.Point = ptrTo(*base.Point)
		if stored.ComputeHash() != base.ComputeHash() {
			t.Error("the same instants and point in other zones and pointers change the hash")
		}
	})

	t.Run("ignores its own hash", func(t *testing.T) {
		e := base
		e.Hash = "anything"
		if e.ComputeHash() != base.ComputeHash() {
			t.Error("ComputeHash depends on Hash: an entry could never verify")
		}
	})

	// Every field but Hash is covered: a one-field change gives another hash.
	changes := map[string]func(*dossier.CustodyEntry){
		"DossierID":                func(e *dossier.CustodyEntry) { e.DossierID = ledgerAgency },
		"Seq":                      func(e *dossier.CustodyEntry) { e.Seq++ },
		"Item":                     func(e *dossier.CustodyEntry) { e.Item = "result" },
		"From.Kind":                func(e *dossier.CustodyEntry) { e.From.Kind = dossier.PartyCourier },
		"From.ID":                  func(e *dossier.CustodyEntry) { e.From.ID = ledgerCourier },
		"To.Kind":                  func(e *dossier.CustodyEntry) { e.To.Kind = dossier.PartyPostOffice },
		"To.ID":                    func(e *dossier.CustodyEntry) { e.To.ID = ledgerOffice },
		"Event":                    func(e *dossier.CustodyEntry) { e.Event = dossier.EventArrivePostOffice },
		"Point (longitude, ~10cm)": func(e *dossier.CustodyEntry) { e.Point = &orb.Point{e.Point.Lon() + 1e-6, e.Point.Lat()} },
		"Point (latitude, ~10cm)":  func(e *dossier.CustodyEntry) { e.Point = &orb.Point{e.Point.Lon(), e.Point.Lat() + 1e-6} },
		"Point (removed)":          func(e *dossier.CustodyEntry) { e.Point = nil },
		"AccuracyM":                func(e *dossier.CustodyEntry) { e.AccuracyM = 300 },
		"DeviceTime":               func(e *dossier.CustodyEntry) { e.DeviceTime = ptrTo(e.DeviceTime.Add(time.Millisecond)) },
		"DeviceTime (removed)":     func(e *dossier.CustodyEntry) { e.DeviceTime = nil },
		"ServerTime":               func(e *dossier.CustodyEntry) { e.ServerTime = e.ServerTime.Add(time.Nanosecond) },
		"Proof.SignatureSHA256":    func(e *dossier.CustodyEntry) { e.Proof.SignatureSHA256 = "5a1c" },
		"Proof.PhotoSHA256":        func(e *dossier.CustodyEntry) { e.Proof.PhotoSHA256 = "" },
		"Proof.SealNumber":         func(e *dossier.CustodyEntry) { e.Proof.SealNumber = "HN-0041" },
		"Proof.ManifestID":         func(e *dossier.CustodyEntry) { e.Proof.ManifestID = uuid.Nil },
		"Proof.RecipientName":      func(e *dossier.CustodyEntry) { e.Proof.RecipientName = "Nguyen Thi Hoa" },
		"Proof.IdentityMethod":     func(e *dossier.CustodyEntry) { e.Proof.IdentityMethod = "giấy ủy quyền" },
		"ActorID":                  func(e *dossier.CustodyEntry) { e.ActorID = ledgerCourier },
		"PrevHash":                 func(e *dossier.CustodyEntry) { e.PrevHash = ledger()[0].Hash },
	}
	t.Run("any one field changes it", func(t *testing.T) {
		for name, change := range changes {
			e := base
			change(&e)
			if e.ComputeHash() == base.ComputeHash() {
				t.Errorf("changing %s leaves the hash as it was", name)
			}
		}
	})

	t.Run("the table names every field", func(t *testing.T) {
		// A field added to the entry (or its party or proof) must be hashed, and this
		// table must then say so.
		named := map[string]bool{}
		for name := range changes {
			named[regexp.MustCompile(` \(.*\)$`).ReplaceAllString(name, "")] = true
		}
		for _, f := range leafFields(reflect.TypeFor[dossier.CustodyEntry](), "") {
			if f != "Hash" && !named[f] {
				t.Errorf("field %s of CustodyEntry is not in the table", f)
			}
		}
	})

	t.Run("text cannot move between fields", func(t *testing.T) {
		// Fields are joined with newlines, and the proxy's name and the identity method
		// are free text, so moving text across that boundary must still change the hash.
		a, b := base, base
		a.Proof.RecipientName, a.Proof.IdentityMethod = "Nguyễn Thị Hoa", "giấy ủy quyền\nCCCD chip"
		b.Proof.RecipientName, b.Proof.IdentityMethod = "Nguyễn Thị Hoa\ngiấy ủy quyền", "CCCD chip"
		if a.ComputeHash() == b.ComputeHash() {
			t.Fatal("text moved between neighbouring free-text fields (recipient name and identity method) leaves the hash unchanged")
		}
	})
}

// leafFields lists the dotted names of the struct fields of t, descending into Party and
// Proof (the structs of this package) but not into library types.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			out = append(out, leafFields(ft, prefix+f.Name+".")...)
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

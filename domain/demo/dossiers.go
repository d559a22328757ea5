package demo

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// DossierPlan is one demo dossier: what to open and the events that bring it to where it
// stands. The seeder plays them through the dossier service, so every demo dossier has a
// real history and custody chain.
type DossierPlan struct {
	New    dossier.NewDossier
	Events []dossier.EventInput // Version is filled in as they are applied
	// OpenedAgo is how many working days ago the dossier was opened and moved along: its
	// deadlines are reckoned from then, so that some stops of the day are late, some due
	// today, some at risk.
	OpenedAgo int
}

// Play opens the planned dossiers and plays their events through the dossier service, as
// the caller in ctx: every demo dossier gets a real history and custody chain. The
// service must read clock, which Play sets back to each dossier's age. It answers how
// many events were played.
func Play(ctx context.Context, dossiers *dossier.Service, clock *Clock, plans []DossierPlan) (int, error) {
	played := 0
	defer clock.openedAgo(0)
	for _, plan := range plans {
		clock.openedAgo(plan.OpenedAgo)
		d, err := dossiers.Create(ctx, plan.New)
		if err != nil {
			return played, err
		}
		for _, in := range plan.Events {
			in.Version = d.Version
			if in.Event == dossier.EventSchedulePickup {
				// The next working day: a pickup is booked on one.
				in.Date = clock.cal.AddWorkingDays(d.CreatedAt.In(vietnam), 1)
			}
			if d, err = dossiers.Apply(ctx, d.ID, in); err != nil {
				return played, err
			}
			played++
		}
	}
	return played, nil
}

// stages are how far the demo dossiers have got, with how many of a hundred stop there:
// most are under way, some finished, a few stuck in the ways the field knows.
var stages = []struct {
	events []dossier.Event
	weight int
	// counter: handed in at the post office's counter instead of picked up at home.
	counter bool
}{
	{nil, 6, false},
	{nil, 4, true},
	{[]dossier.Event{dossier.EventSchedulePickup}, 8, false},
	{[]dossier.Event{dossier.EventAssignPickup}, 10, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp}, 6, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice}, 8, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency}, 8, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept}, 14, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyReject}, 2, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady}, 8, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady, dossier.EventCollectResult}, 6, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady, dossier.EventCollectResult, dossier.EventDispatchDelivery}, 6, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady, dossier.EventCollectResult, dossier.EventDispatchDelivery,
		dossier.EventDeliver}, 10, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady, dossier.EventCollectResult, dossier.EventDispatchDelivery,
		dossier.EventDeliveryFail}, 2, false},
	{[]dossier.Event{dossier.EventAssignPickup, dossier.EventPickUp, dossier.EventArrivePostOffice, dossier.EventHandToAgency,
		dossier.EventAgencyAccept, dossier.EventResultReady, dossier.EventCollectResult, dossier.EventDispatchDelivery,
		dossier.EventDeliveryFail, dossier.EventHold}, 2, false},
}

// departmentFor picks the provincial department that settles a procedure, by its name.
var departmentFor = []struct{ keyword, agency string }{
	{"lý lịch tư pháp", "Sở Tư pháp"},
	{"lái xe", "Sở Giao thông vận tải"},
	{"xây dựng", "Sở Xây dựng"},
	{"đất", "Sở Tài nguyên và Môi trường"},
	{"", "Sở Kế hoạch và Đầu tư"},
}

// DossierPlans makes n demo dossiers for ds's citizens, deterministically from seed.
// Every dossier goes through the post both ways, so that every stage can be shown.
func DossierPlans(ds Dataset, seed int64, n int) []DossierPlan {
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream+1))
	var procedures []catalog.Procedure
	for _, p := range ds.Procedures {
		if p.PickupByPost && p.ReturnByPost {
			procedures = append(procedures, p)
		}
	}
	weights := make([]int, len(stages))
	for i, s := range stages {
		weights[i] = s.weight
	}
	plans := make([]DossierPlan, 0, n)
	for i := 0; i < n && len(ds.Citizens) > 0; i++ {
		c := ds.Citizens[i%len(ds.Citizens)]
		proc := procedures[rng.IntN(len(procedures))]
		office := officeFor(ds, c.AdminUnitCode)
		plan := DossierPlan{New: dossier.NewDossier{ProcedureID: proc.ID, AgencyID: agencyFor(ds, proc, c.AdminUnitCode).ID,
			PostOfficeID: office.ID, Pickup: true, Return: true, Channel: dossier.ChannelDispatcher,
			Applicant: dossier.Applicant{Name: c.FullName, Phone: c.Phone, CitizenID: citizenID(rng), Address: c.Address,
				AdminUnitCode: c.AdminUnitCode, Location: c.Location}}}
		courier := couriersOf(ds, office.ID)
		assigned := courier[rng.IntN(len(courier))]
		stage := stages[pickWeighted(rng, weights)]
		// Overdue, due today, at risk and on track in turn, with the default two working
		// days a leg: an open stop of every risk on the day seeded.
		plan.OpenedAgo = 3 - i%4
		if stage.counter {
			plan.New.Pickup, plan.New.Channel = false, dossier.ChannelCounter
		}
		for _, e := range stage.events {
			plan.Events = append(plan.Events, eventInput(e, assigned, plan.New.Applicant.CitizenID, rng))
		}
		plans = append(plans, plan)
	}
	return plans
}

// demoSignature names the applicants' signatures on the demo's deliveries; the demo keeps
// no proof files, so it is the hash of a line of text.
var demoSignature = fmt.Sprintf("%x", sha256.Sum256([]byte("demo signature")))

func eventInput(e dossier.Event, courier uuid.UUID, citizenID string, rng *rand.Rand) dossier.EventInput {
	in := dossier.EventInput{Event: e}
	switch e {
	case dossier.EventAssignPickup, dossier.EventDispatchDelivery:
		in.CourierID = courier
	case dossier.EventDeliveryFail:
		in.Reason = []dossier.FailureReason{dossier.FailNotAtHome, dossier.FailNotAtHome, dossier.FailWrongAddress}[rng.IntN(3)]
	case dossier.EventAgencyReject:
		in.Note = "Thiếu bản sao giấy tờ tùy thân"
	case dossier.EventDeliver:
		// The courier checked the ID card at the door, and the applicant signed.
		in.Recipient, in.Door = dossier.PartyApplicant, dossier.DoorCheck{CitizenIDLast4: citizenID[len(citizenID)-4:]}
		in.Proof.SignatureSHA256 = demoSignature
	}
	return in
}

// citizenID makes a well-formed but invented personal identification number: the Bình
// Dương birth-province code 074, a century-and-sex digit, a birth year, six digits.
func citizenID(rng *rand.Rand) string {
	return fmt.Sprintf("074%d%02d%06d", rng.IntN(4), 50+rng.IntN(50), rng.IntN(1_000_000))
}

func officeFor(ds Dataset, ward string) catalog.PostOffice {
	for _, o := range postOffices {
		for _, served := range o.serves {
			if served == ward {
				for _, built := range ds.PostOffices {
					if built.Code == o.code {
						return built
					}
				}
			}
		}
	}
	panic("demo: no post office serves ward " + ward)
}

func agencyFor(ds Dataset, p catalog.Procedure, ward string) catalog.Agency {
	want := func(a catalog.Agency) bool { return a.Kind == p.AgencyKind }
	switch p.AgencyKind {
	case catalog.AgencyCommuneCommittee:
		want = func(a catalog.Agency) bool { return a.Kind == p.AgencyKind && a.AdminUnitCode == ward }
	case catalog.AgencyDepartment:
		name := strings.ToLower(p.Name)
		for _, d := range departmentFor {
			if strings.Contains(name, d.keyword) {
				return agencyNamed(ds.Agencies, d.agency)
			}
		}
	}
	for _, a := range ds.Agencies {
		if want(a) {
			return a
		}
	}
	panic("demo: no agency settles " + p.Code)
}

func couriersOf(ds Dataset, office uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, c := range ds.Couriers {
		if c.PostOfficeID == office {
			out = append(out, c.ID)
		}
	}
	return out
}

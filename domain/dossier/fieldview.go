package dossier

import (
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain/catalog"
)

// FieldTask is a stop as a courier's device holds it: enough to find the place, reach the
// applicant and record what happens, and nothing of other stops.
type FieldTask struct {
	TaskID         uuid.UUID
	DossierID      uuid.UUID
	Kind           TaskKind
	State          TaskState
	Version        int
	ScheduledFor   *time.Time
	RouteSeq       *int
	PlannedArrival *time.Time
	// RouteTrip and the reload before the stop: see Task.
	RouteTrip                      *int
	ReloadArrival, ReloadDeparture *time.Time
	Slot                           *Slot // the applicant's window
	// AmountDueVND is what the courier collects at the stop (by cash or the VietQR code
	// their device shows): everything due, at a pickup the applicant pays the post for.
	AmountDueVND   int64
	ReceiptCode    string
	DossierState   State
	DossierVersion int
	ApplicantName  string
	ApplicantPhone string
	// Address and Location are where the stop is: the applicant's door, or for a collection
	// the agency's desk, named by AgencyName.
	Address    string
	Location   orb.Point
	AgencyName string
	// ProcedureCode and ProcedureName: what the dossier applies for. A pickup stop carries
	// the procedure's Checklist, which the courier checks the papers against; a delivery
	// stop what the delivery Needs, so the device knows before the door.
	ProcedureCode string
	ProcedureName string
	Checklist     []catalog.RequiredDocument
	Needs         *DeliveryNeeds
}

// DeliveryNeeds is what a delivery stop's procedure requires at the door.
type DeliveryNeeds struct {
	Signature     bool // the recipient's signature
	ProxyPhoto    bool // a photo of the handover when a proxy receives
	IdentityCheck bool // the handover code, the applicant's ID digits or a proxy's letter
	ProxyAllowed  bool // whether a proxy may receive at all
}

// FieldView is the device's view of task t of dossier d; agency is where d's collection
// stop is (nil only for dossiers without one), proc d's procedure.
func FieldView(d Dossier, t Task, agency *catalog.Agency, proc catalog.Procedure) FieldTask {
	v := FieldTask{TaskID: t.ID, DossierID: d.ID, Kind: t.Kind, State: t.State, Version: t.Version, ScheduledFor: t.ScheduledFor,
		RouteSeq: t.RouteSeq, PlannedArrival: t.PlannedArrival, RouteTrip: t.RouteTrip, ReloadArrival: t.ReloadArrival,
		ReloadDeparture: t.ReloadDeparture, Slot: t.Slot,
		ReceiptCode: d.Receipt.String(), DossierState: d.State, DossierVersion: d.Version, ApplicantName: d.Applicant.Name,
		ApplicantPhone: d.Applicant.Phone, Address: d.Applicant.Address, Location: d.Applicant.Location,
		ProcedureCode: proc.Code, ProcedureName: proc.Name}
	switch t.Kind {
	case TaskPickup:
		v.Checklist = proc.Documents
	case TaskDelivery:
		v.Needs = &DeliveryNeeds{Signature: proc.DeliverySignatureRequired, ProxyPhoto: proc.DeliveryProxyPhotoRequired,
			IdentityCheck: proc.IdentityCheckRequired, ProxyAllowed: proc.ProxyAllowed}
	}
	if t.Kind == TaskPickup && oneOf(d.Payment, PayCashToCourier, PayVietQR) {
		v.AmountDueVND = d.DueVND()
	}
	if t.Kind == TaskCollection && agency != nil {
		v.Address, v.Location, v.AgencyName = agency.Address, agency.Location, agency.Name
	}
	return v
}

// FeedChange is one line of a courier's change feed: a stop to hold (upsert) or to drop
// (remove, with why: reassigned, cancelled).
type FeedChange struct {
	V      int64
	Op     string // "upsert" or "remove"
	TaskID uuid.UUID
	Task   *FieldTask // for upserts
	Reason string     // for removals
}

// Reasons a stop leaves a courier's device.
const (
	RemovedReassigned = "reassigned"
	RemovedCancelled  = "cancelled"
)

// feedChanges is what a change means to each courier concerned: the previous assignee
// loses a stop that went to someone else (or to no one); the assignee gets the stop anew
// when it changed, or when it is still to do (the dossier around it changed), and loses
// it when it was cancelled.
func feedChanges(d Dossier, before, after []Task, changed []Task, agency *catalog.Agency, proc catalog.Procedure) map[uuid.UUID][]FeedChange {
	out := map[uuid.UUID][]FeedChange{}
	old := map[uuid.UUID]Task{}
	for _, t := range before {
		old[t.ID] = t
	}
	touched := map[uuid.UUID]bool{}
	for _, t := range changed {
		touched[t.ID] = true
	}
	for _, t := range after {
		if !touched[t.ID] && (t.State == TaskDone || t.State == TaskCancelled) {
			continue
		}
		prev, had := old[t.ID]
		if had && prev.CourierID != uuid.Nil && prev.CourierID != t.CourierID {
			out[prev.CourierID] = append(out[prev.CourierID], FeedChange{Op: "remove", TaskID: t.ID, Reason: RemovedReassigned})
		}
		switch {
		case t.CourierID == uuid.Nil:
		case t.State == TaskCancelled:
			out[t.CourierID] = append(out[t.CourierID], FeedChange{Op: "remove", TaskID: t.ID, Reason: RemovedCancelled})
		default:
			view := FieldView(d, t, agency, proc)
			out[t.CourierID] = append(out[t.CourierID], FeedChange{Op: "upsert", TaskID: t.ID, Task: &view})
		}
	}
	return out
}

package dossier

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// JobKind is background work that a state change schedules. Jobs are written in the
// transaction of the change, so a crash can lose neither the change nor its job.
type JobKind string

const (
	// JobHoldExpiry tells the applicant that their hold ran out; the result goes back to
	// the agency when the post office hands it over (a timer moves nothing).
	JobHoldExpiry JobKind = "dossier_hold_expiry"
	// JobNotifyApplicant tells the applicant something (a result is ready, held, …).
	JobNotifyApplicant JobKind = "dossier_notify_applicant"
	// JobWebhook tells the agencies' and portals' subscribers of an event.
	JobWebhook JobKind = "dossier_webhook"
)

// Notice is what the applicant is told; the message text is the notifier's business.
type Notice string

const (
	NoticePickupScheduled Notice = "pickup_scheduled"
	NoticePickupOnTheWay  Notice = "pickup_on_the_way"
	NoticeHandedToAgency  Notice = "handed_to_agency"
	NoticeResultReady     Notice = "result_ready"
	NoticeDeliveryBooked  Notice = "delivery_scheduled"
	NoticeOutForDelivery  Notice = "out_for_delivery"
	NoticeDelivered       Notice = "delivered"
	NoticeDeliveryFailed  Notice = "delivery_failed"
	NoticeHeld            Notice = "held_at_post_office"
	NoticeHoldExpired     Notice = "hold_expired"
	NoticeReturned        Notice = "returned_to_agency"
)

// Notices lists every notice.
var Notices = []Notice{NoticePickupScheduled, NoticePickupOnTheWay, NoticeHandedToAgency, NoticeResultReady, NoticeDeliveryBooked,
	NoticeOutForDelivery, NoticeDelivered,
	NoticeDeliveryFailed, NoticeHeld, NoticeHoldExpired, NoticeReturned}

// Job is one piece of background work about one dossier.
type Job struct {
	Kind       JobKind
	DossierID  uuid.UUID
	Notice     Notice     // for JobNotifyApplicant
	Occurrence Occurrence // for JobWebhook
	RunAt      time.Time  // zero: as soon as possible
}

// Occurrence is an event as its transaction commits it: what subscribers are told, fixed
// with the event, so that a job that runs after later events still tells this one.
type Occurrence struct {
	Event    Event
	From, To State
	Version  int // the dossier's, after the event
	At       time.Time
}

// jobsFor is the work an event schedules on d, which the event moved on from the state
// from: subscribers hear of every event, the applicant of those that concern them.
func (s *Service) jobsFor(d Dossier, e Event, from State) []Job {
	told := Occurrence{Event: e, From: from, To: d.State, Version: d.Version, At: d.UpdatedAt}
	return append(s.noticesFor(d, e), Job{Kind: JobWebhook, DossierID: d.ID, Occurrence: told})
}

// noticesFor is what an event tells the applicant (its row's Notice), and the hold it
// starts.
func (s *Service) noticesFor(d Dossier, e Event) []Job {
	rule := eventRules[e]
	var jobs []Job
	if rule.Notice != "" && (rule.NoticeIf == nil || rule.NoticeIf(d)) {
		jobs = append(jobs, Job{Kind: JobNotifyApplicant, DossierID: d.ID, Notice: rule.Notice})
	}
	if rule.Clock == ClockHold {
		// The hold ends at the start of HeldUntil, Vietnam time.
		end := domain.Midnight(*d.HeldUntil)
		jobs = append(jobs, Job{Kind: JobHoldExpiry, DossierID: d.ID, RunAt: end})
	}
	return jobs
}

// ExpireHold tells the applicant that the hold of their result has run out and that it
// goes back to the agency. It moves nothing: the result stays on the post office's shelf
// until its staff hand it over (a manifest to the agency or return_to_agency at the
// desk), and until then the applicant may still collect it. It does nothing when the
// applicant collected it meanwhile or it went out again: a job may run late or twice.
func (s *Service) ExpireHold(ctx context.Context, id uuid.UUID, key string) error {
	ctx = auth.WithPrincipal(ctx, auth.System)
	d, _, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if d.State != StateHeldAtPostOffice || d.HeldUntil == nil || civil(s.now()).Before(*d.HeldUntil) {
		return nil
	}
	return s.NotifyApplicant(ctx, id, NoticeHoldExpired, key)
}

// Notifier tells applicants what happened to their dossier. The delivery channel (SMS,
// Zalo) is an adapter's; it receives the dossier and its stops (a delivery's planned
// arrival) so it can reach the applicant and say when.
type Notifier interface {
	// Notify sends n by the applicant's preferred channel where it is configured.
	Notify(ctx context.Context, d Dossier, tasks []Task, n Notice, how Sending) error
}

// Sending is how one notice goes out: by the applicant's preferred channel, under a key
// that stays the same over its retries.
type Sending struct {
	Prefer ChannelPreference
	Key    string
}

// ChannelPreference is how an applicant wants to be messaged.
type ChannelPreference string

const (
	PreferAny  ChannelPreference = "any" // whatever the post office uses
	PreferSMS  ChannelPreference = "sms"
	PreferZalo ChannelPreference = "zalo"
)

// Preference is an applicant's messaging choice, kept by their phone's blind index:
// the same for all their dossiers. The applicant sets it (applicant.SetMyPreference);
// every notice reads it.
type Preference struct {
	Channel   ChannelPreference
	OptedOut  bool
	UpdatedAt time.Time
}

// NotifyApplicant sends a notice about a dossier; key names this sending over its retries
// (the job's id), for channels that drop a message they already took.
func (s *Service) NotifyApplicant(ctx context.Context, id uuid.UUID, n Notice, key string) error {
	d, tasks, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	pref, err := s.store.Preference(ctx, d.Applicant.PhoneIndex)
	if err != nil || pref.OptedOut {
		return err // an applicant who opted out hears nothing; their page still tells all
	}
	if n == NoticeOutForDelivery {
		// The door code goes in the message that announces the courier.
		if d.Handover, err = s.openHandover(d); err != nil {
			return err
		}
	}
	return s.notifier.Notify(ctx, d, tasks, n, Sending{Prefer: pref.Channel, Key: key})
}

// LogNotifier is the development notifier: it writes to the log what would be sent,
// naming the dossier by its id, never by its receipt code, the applicant's name or phone.
type LogNotifier struct {
	Log func(msg string, args ...any)
}

func (l LogNotifier) Notify(_ context.Context, d Dossier, _ []Task, n Notice, how Sending) error {
	l.Log("notice to applicant", "dossier_id", d.ID.String(), "notice", string(n), "prefer", string(how.Prefer))
	return nil
}

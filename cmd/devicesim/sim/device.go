package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/uuid"

	devapi "courierd/mobile-contract/client"
)

// device is one simulated handheld: what it holds, what it has queued, and what it saw.
type device struct {
	cfg      Config
	rng      *rand.Rand
	api      *devapi.ClientWithResponses
	staff    staffClient
	admin    string // the dispatcher's token
	key      string // the handheld's key (X-Device-ID)
	serverID string // its id on the server
	username string
	courier  string
	office   string
	template template
	tokens   tokens

	cursor  string
	stops   map[string]devapi.FieldTask // pulled, still to visit
	visited map[string]bool
	last    *devapi.FieldTask // the stop visited last
	pos     point

	queue    []devapi.Mutation // recorded, not yet acknowledged
	nextSeq  int
	blobs    map[string][]byte // proof files not yet uploaded
	points   []devapi.Breadcrumb
	pointSeq int
	offline  int      // steps left without network
	opened   []lookup // the dossiers opened for this device, as their applicants look them up

	acked map[uuid.UUID]string // every acknowledged mutation and its status
	stats deviceStats
}

// deviceStats is what a device counted in one run.
type deviceStats struct {
	sent, applied, duplicates, rejected, errors int
	shed                                        int // pushes the server was too busy for
	facts                                       int // applied mutations other than notes
	pointsSent, pointsStored                    int
	// calls are the latencies of the device's answered calls by kind (push, pull, gps,
	// blob, login, refresh), in ms.
	calls      map[string][]float64
	rejectedBy map[string]int
}

// resetStats starts the device's counts and latencies again, for a run of its own; what
// the server acknowledged (acked) stays, to be checked against the database.
func (d *device) resetStats() {
	d.stats = deviceStats{rejectedBy: map[string]int{}, calls: map[string][]float64{}}
}

func newDevice(ctx context.Context, cfg Config, staff staffClient, adminToken string, i int) (*device, error) {
	username := fmt.Sprintf("%s%02d", cfg.CourierPrefix, i+1)
	d := &device{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i))), staff: staff, admin: adminToken,
		key: fmt.Sprintf("devicesim-%d-%d", cfg.Seed, i), stops: map[string]devapi.FieldTask{}, visited: map[string]bool{},
		nextSeq: 1, blobs: map[string][]byte{}, acked: map[uuid.UUID]string{}, username: username}
	d.resetStats()
	plain, err := staff.login(ctx, username, cfg.Password, "")
	if err != nil {
		return nil, fmt.Errorf("%w (the simulator drives the seeded courier accounts: -devices at most their number)", err)
	}
	if d.serverID, err = staff.registerDevice(ctx, plain.AccessToken, d.key); err != nil {
		return nil, fmt.Errorf("register %s's handheld: %w", username, err)
	}
	if d.tokens, err = staff.login(ctx, username, cfg.Password, d.key); err != nil {
		return nil, err
	}
	d.api, err = devapi.NewClientWithResponses(cfg.Base, devapi.WithHTTPClient(staff.http),
		devapi.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+d.tokens.AccessToken)
			return nil
		}))
	if err != nil {
		return nil, err
	}
	session, err := d.api.DeviceSessionWithResponse(ctx, &devapi.DeviceSessionParams{XDeviceID: d.key, XAppVersion: ptr(appVersion)})
	if err != nil {
		return nil, fmt.Errorf("device session of %s: %w", username, err)
	}
	if session.JSON200 == nil {
		return nil, fmt.Errorf("device session of %s: %d %s", username, session.StatusCode(), session.Body)
	}
	d.courier = session.JSON200.CourierId.String()
	var courier struct {
		PostOfficeID string `json:"post_office_id"`
	}
	if err := staff.call(ctx, http.MethodGet, "/v1/couriers/"+d.courier, adminToken, nil, nil, &courier); err != nil {
		return nil, fmt.Errorf("courier %s: %w", username, err)
	}
	d.office = courier.PostOfficeID
	return d, nil
}

func ptr[T any](v T) *T { return &v }

// work runs the device from start until deadline, then brings it online until its queues
// drain.
func (d *device) work(ctx context.Context, start, deadline time.Time) {
	origin := start
	if d.cfg.Rate > 0 {
		// Devices begin spread over one period, not all at once.
		origin = start.Add(time.Duration(d.rng.Float64() * float64(d.mutationsPerStop()) / d.share() * float64(time.Second)))
		sleepUntil(ctx, origin, deadline)
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pause := d.cfg.Think
		if d.cfg.Rate > 0 {
			pause = time.Until(origin.Add(time.Duration(float64(d.stats.sent) / d.share() * float64(time.Second))))
		}
		if !d.step(ctx) {
			pause = max(pause, idlePause) // nothing left to visit: a courier waits for work
		}
		sleepUntil(ctx, time.Now().Add(pause), deadline)
	}
	d.drain(ctx)
}

// drain brings the device online and syncs until nothing is left to send, for at most
// cfg.Drain.
func (d *device) drain(ctx context.Context) {
	d.offline = 0
	drain := cmp.Or(d.cfg.Drain, 10*time.Second)
	for until := time.Now().Add(drain); ctx.Err() == nil && d.backlog(); {
		d.sync(ctx)
		if d.backlog() {
			// Busy or away (restarting, say): the app waits a little and tries again.
			sleepUntil(ctx, time.Now().Add(drainPause), until)
		}
		if !time.Now().Before(until) {
			return
		}
	}
}

// drainPause is the wait between a draining device's attempts that left something unsent.
const drainPause = 200 * time.Millisecond

// backlog: something recorded is not yet on the server.
func (d *device) backlog() bool { return len(d.queue) > 0 || len(d.points) > 0 || len(d.blobs) > 0 }

// share is the mutations per second this device records when the fleet is paced.
func (d *device) share() float64 { return d.cfg.Rate / float64(d.cfg.Devices) }

// mutationsPerStop is about what a visit records: the outcome, the notes asked for, and a
// note now and then.
func (d *device) mutationsPerStop() int { return 1 + d.cfg.NotesPerStop }

// sleepUntil waits until t, or deadline if it comes first.
func sleepUntil(ctx context.Context, t, deadline time.Time) {
	if deadline.Before(t) {
		t = deadline
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// idlePause is how long a device with nothing to visit waits before it looks again.
const idlePause = 500 * time.Millisecond

// step is one moment of a courier's day: ask for work when short of it, sync when the
// network is there, then walk to the next stop and record what happened there; false
// when there was no stop to visit.
func (d *device) step(ctx context.Context) bool {
	waiting := 0
	for id, stop := range d.stops {
		if d.toVisit(id, stop) {
			waiting++
		}
	}
	if waiting < 2 && d.offline == 0 && d.cfg.StopsAhead == 0 {
		if err := d.openStop(ctx); err != nil {
			d.stats.errors++
		}
	}
	switch {
	case d.offline > 0:
		d.offline--
	case d.rng.Float64() < d.cfg.OfflineShare/5:
		d.offline = 5 // out of coverage for the next five steps
	default:
		d.sync(ctx)
	}
	for id, stop := range d.stops {
		if !d.toVisit(id, stop) {
			continue
		}
		d.walkTo(point{Lat: stop.Location.Lat, Lon: stop.Location.Lon})
		d.record(stop)
		d.visited[id] = true
		d.last = &stop
		return true
	}
	if d.last != nil && d.cfg.NotesPerStop > 0 && d.cfg.StopsAhead > 0 {
		// Out of stops in a run that opens none: the courier writes up the last one, so
		// that the push path stays loaded however fast the stops went.
		d.notes(*d.last)
		return true
	}
	return false
}

// openStop has the dispatcher open a pickup near the device's area and give it to its
// courier.
func (d *device) openStop(ctx context.Context) error {
	loc := point{Lat: d.template.Applicant.Location.Lat + (d.rng.Float64()-0.5)*0.02,
		Lon: d.template.Applicant.Location.Lon + (d.rng.Float64()-0.5)*0.02}
	applicant := d.rng.IntN(1_000_000_000)
	receipt, err := d.staff.openPickup(ctx, d.admin, d.template, d.courier, applicant, loc)
	if err == nil {
		d.opened = append(d.opened, lookup{Receipt: receipt, PhoneLast4: fmt.Sprintf("%04d", applicant%10_000)})
	}
	return err
}

// toVisit reports whether a stop is still to do here; a failed one waits for the
// dispatcher to plan it again.
func (d *device) toVisit(id string, stop devapi.FieldTask) bool {
	return !d.visited[id] && stop.Location != nil && (stop.State == "assigned" || stop.State == "in_progress")
}

// walkTo moves the courier to p, dropping a breadcrumb every few hundred metres.
func (d *device) walkTo(p point) {
	if d.pos == (point{}) {
		d.pos = p
	}
	from := d.pos
	for i := 1; i <= 5; i++ {
		f := float64(i) / 5
		d.points = append(d.points, d.breadcrumb(time.Now().Add(time.Duration(i-5)*time.Second),
			point{Lat: from.Lat + (p.Lat-from.Lat)*f, Lon: from.Lon + (p.Lon-from.Lon)*f}))
		d.stats.pointsSent++
	}
	d.pos = p
}

// breadcrumb is the device's next GPS point, at p.
func (d *device) breadcrumb(at time.Time, p point) devapi.Breadcrumb {
	d.pointSeq++
	acc, speed, battery := 5+d.rng.Float64()*20, 4+d.rng.Float64()*6, 100-d.pointSeq%80
	return devapi.Breadcrumb{Seq: d.pointSeq, At: at.UTC(), Lat: p.Lat, Lon: p.Lon, AccuracyM: &acc, SpeedMps: &speed, BatteryPct: &battery}
}

// record queues what happened at a stop: at a door, the applicant's signature with the
// pickup (and the fee) or with the delivery, now and then a note, or, when nobody is home,
// a failed attempt; at the agency's desk, the result collected.
func (d *device) record(stop devapi.FieldTask) {
	if stop.Kind != devapi.Collection && d.rng.Float64() < d.cfg.FailShare {
		d.enqueue(stop, "task.fail.v1", map[string]any{"reason": "not_at_home"})
		return
	}
	sha := d.proofFile()
	switch stop.Kind {
	case devapi.Pickup:
		// The papers are checked against the stop's checklist, and all found.
		var found []string
		if stop.Checklist != nil {
			for _, doc := range *stop.Checklist {
				found = append(found, doc.Name)
			}
		}
		d.enqueue(stop, "task.pickup.v1", map[string]any{"signature_sha256": sha, "fee_collected_vnd": 115000,
			"documents_checked": found})
	case devapi.Delivery:
		// The simulated courier knows neither the applicant's door code nor their ID number:
		// a relative receives it with a signed authorisation letter, which the server accepts
		// where the procedure allows a proxy (elsewhere the delivery is refused and kept).
		d.enqueue(stop, "task.deliver.v1", map[string]any{"recipient": "proxy", "recipient_name": "Nguyễn Văn An",
			"identity_method": "authorisation_letter", "authorisation_sha256": d.proofFile(), "signature_sha256": sha,
			"photo_sha256": d.proofFile()})
	case devapi.Collection:
		d.enqueue(stop, "task.collect_result.v1", map[string]any{"clerk_name": "Văn thư", "signature_sha256": sha})
	}
	if d.rng.Float64() < 0.2 {
		d.enqueue(stop, "task.note.v1", map[string]any{"text": "Người nộp hẹn nhận kết quả tại nhà"})
	}
	d.notes(stop)
}

// notes queues the notes asked for on every stop.
func (d *device) notes(stop devapi.FieldTask) {
	for i := range d.cfg.NotesPerStop {
		d.enqueue(stop, "task.note.v1", map[string]any{"text": fmt.Sprintf("Ghi chú %d: đã gọi trước khi đến", i+1)})
	}
}

// proofFile makes a proof file (a drawn signature) to upload, and names it by its hash.
func (d *device) proofFile() string {
	file := fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L%d %d"/></svg>`, d.rng.IntN(1000), d.rng.IntN(1000))
	sum := sha256.Sum256(file)
	sha := hex.EncodeToString(sum[:])
	d.blobs[sha] = file
	return sha
}

func (d *device) enqueue(stop devapi.FieldTask, typ string, payload map[string]any) {
	acc := 5 + d.rng.Float64()*15
	m := devapi.Mutation{Seq: d.nextSeq, Id: uuid.New(), Type: typ, TaskId: stop.TaskId, TaskVersion: ptr(stop.Version),
		OccurredAt: time.Now().UTC(), Payload: payload}
	m.Gps = &struct {
		AccuracyM *float64 `json:"accuracy_m,omitempty"`
		Lat       float64  `json:"lat"`
		Lon       float64  `json:"lon"`
	}{AccuracyM: &acc, Lat: d.pos.Lat, Lon: d.pos.Lon}
	d.nextSeq++
	d.queue = append(d.queue, m)
	d.stats.sent++
}

// sync is what the app does when it has network: proofs, then the queue, then the
// breadcrumbs, then pull until nothing is left (push before pull, as the contract says).
func (d *device) sync(ctx context.Context) {
	if !d.uploadBlobs(ctx) || !d.push(ctx) {
		return
	}
	d.uploadPoints(ctx)
	d.pull(ctx)
}

func (d *device) uploadBlobs(ctx context.Context) bool {
	for sha, data := range d.blobs {
		began := time.Now()
		has, err := d.api.HasBlobWithResponse(ctx, sha, &devapi.HasBlobParams{XDeviceID: d.key, XAppVersion: ptr(appVersion)})
		if err == nil && has.StatusCode() == http.StatusOK {
			d.answered("blob", began)
			delete(d.blobs, sha)
			continue
		}
		began = time.Now()
		put, err := d.api.PutBlobWithBodyWithResponse(ctx, sha, &devapi.PutBlobParams{XDeviceID: d.key, XAppVersion: ptr(appVersion)},
			"image/svg+xml", bytes.NewReader(data))
		if err != nil || put.JSON200 == nil && put.JSON201 == nil {
			d.stats.errors++
			return false
		}
		d.answered("blob", began)
		delete(d.blobs, sha)
	}
	return true
}

// push sends the queue in batches. An answer the device never sees (LostAnswerShare) leaves
// the batch queued: it goes again, and the server answers duplicate.
func (d *device) push(ctx context.Context) bool {
	for len(d.queue) > 0 {
		batch := d.queue[:min(len(d.queue), d.cfg.Batch)]
		began := time.Now()
		r, err := d.api.PushMutationsWithResponse(ctx, &devapi.PushMutationsParams{XDeviceID: d.key, XAppVersion: ptr(appVersion)},
			devapi.PushBatch{Mutations: batch})
		if err != nil {
			d.stats.errors++
			return false
		}
		if r.StatusCode() == http.StatusUnauthorized && d.renew(ctx) {
			continue
		}
		if r.StatusCode() == http.StatusServiceUnavailable {
			d.stats.shed++ // busy: nothing applied; the batch goes again next time
			return false
		}
		if r.JSON200 == nil {
			d.stats.errors++
			return false
		}
		d.answered("push", began)
		if d.rng.Float64() < d.cfg.LostAnswerShare {
			continue // the connection dropped before the answer arrived
		}
		for i, res := range r.JSON200.Results {
			switch res.Status {
			case devapi.Applied:
				d.stats.applied++
				if i < len(batch) && batch[i].Type != "task.note.v1" {
					d.stats.facts++
				}
			case devapi.Duplicate:
				d.stats.duplicates++
			case devapi.Rejected:
				d.stats.rejected++
				if res.Code != nil {
					d.stats.rejectedBy[*res.Code]++
				}
			}
			if _, seen := d.acked[res.Id]; !seen || res.Status != devapi.Duplicate {
				d.acked[res.Id] = string(res.Status)
			}
		}
		d.queue = d.queue[len(r.JSON200.Results):]
	}
	return true
}

func (d *device) uploadPoints(ctx context.Context) {
	for len(d.points) > 0 {
		batch := d.points[:min(len(d.points), 500)]
		began := time.Now()
		r, err := d.api.UploadBreadcrumbsWithResponse(ctx, &devapi.UploadBreadcrumbsParams{XDeviceID: d.key, XAppVersion: ptr(appVersion)},
			devapi.UploadBreadcrumbsJSONRequestBody{Points: batch})
		if err != nil || r.JSON200 == nil {
			d.stats.errors++
			return
		}
		d.answered("gps", began)
		if d.rng.Float64() < d.cfg.LostAnswerShare {
			continue
		}
		d.stats.pointsStored += r.JSON200.Stored
		d.points = d.points[len(batch):]
	}
}

func (d *device) pull(ctx context.Context) {
	for {
		params := &devapi.PullChangesParams{XDeviceID: d.key, XAppVersion: ptr(appVersion), Limit: ptr(200)}
		if d.cursor != "" {
			params.Cursor = &d.cursor
		}
		began := time.Now()
		r, err := d.api.PullChangesWithResponse(ctx, params)
		if err == nil && r.StatusCode() == http.StatusUnauthorized && d.renew(ctx) {
			continue
		}
		if err != nil || r.JSON200 == nil {
			d.stats.errors++
			return
		}
		d.answered("pull", began)
		page := r.JSON200
		if page.Reset {
			d.stops = map[string]devapi.FieldTask{}
		}
		for _, c := range page.Changes {
			id := c.Id.String()
			if c.Op == devapi.Remove || c.Data == nil || c.Data.State == "done" || c.Data.State == "cancelled" {
				delete(d.stops, id)
				continue
			}
			d.stops[id] = *c.Data
		}
		d.cursor = page.Cursor
		if !page.HasMore {
			return
		}
	}
}

// renew refreshes an expired session; the queue stays as it is.
func (d *device) renew(ctx context.Context) bool {
	began := time.Now()
	t, err := d.staff.refresh(ctx, d.key, d.tokens.RefreshToken)
	if err != nil {
		d.stats.errors++
		return false
	}
	d.answered("refresh", began)
	d.tokens = t
	return true
}

// answered records the latency of a call of kind that began then.
func (d *device) answered(kind string, began time.Time) {
	d.stats.calls[kind] = append(d.stats.calls[kind], float64(time.Since(began).Microseconds())/1000)
}

package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dispatch"
	"courierd/domain/live"
)

// liveStreaming is how a dispatcher's live stream is kept: how long it lives, how often a
// quiet one says it is still there, and how long one write may take.
type liveStreaming struct {
	lifetime, heartbeat, writeTimeout time.Duration
}

// retryMillis is the pause a screen takes before reconnecting (the SSE retry field).
const retryMillis = 3000

// delayAlertDTO is a delay alert with what to do about it, in ids and codes (the console
// words the action and reads names from its own lists).
type delayAlertDTO struct {
	ID           string     `json:"id"`
	PostOfficeID string     `json:"post_office_id"`
	Kind         string     `json:"kind" example:"courier_late" doc:"courier_late: a courier runs late on the published route; stop_deadline: a stop will miss (or missed) its slot's end"`
	CourierID    string     `json:"courier_id"`
	TaskID       string     `json:"task_id,omitempty" doc:"the stop, for stop_deadline"`
	DossierID    string     `json:"dossier_id,omitempty"`
	Receipt      string     `json:"receipt_code,omitempty" doc:"the stop's dossier, as the console looks it up"`
	LateMinutes  int        `json:"late_minutes" doc:"predicted lateness: the route's, or the stop's past its deadline"`
	Due          *time.Time `json:"due_at,omitempty" doc:"the stop's deadline"`
	Action       string     `json:"action" example:"move_stops" doc:"what to do: move_stops (give stops to another courier) or call_applicant (agree another time)"`
	RaisedAt     time.Time  `json:"raised_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	ClosedBy     string     `json:"closed_by,omitempty"`
	Note         string     `json:"note,omitempty"`
}

func delayAlertOf(a dispatch.DelayAlert) delayAlertDTO {
	return delayAlertDTO{ID: a.ID.String(), PostOfficeID: a.PostOfficeID.String(), Kind: string(a.Kind), CourierID: a.CourierID.String(), TaskID: idText(a.TaskID),
		DossierID: idText(a.DossierID), Receipt: a.Receipt, LateMinutes: a.LateMinutes, Due: a.Due, Action: string(a.Action),
		RaisedAt: a.RaisedAt, ClosedAt: a.ClosedAt, ClosedBy: idText(a.ClosedBy), Note: a.Note}
}

// closeAlertBody says what the dispatcher did about an alert.
type closeAlertBody struct {
	Note string `json:"note" example:"Moved two stops to courier 03" doc:"what was done, at most 500 characters"`
}

func mountLive(rt *router, hub *live.Hub, svc *dispatch.Service, streaming liveStreaming) {
	who := staff(auth.RoleAdmin, auth.RoleDispatcher)
	// The dispatcher's screen follows its offices here (Server-Sent Events), each event
	// sent once its transaction committed, from whichever process committed it. The
	// stream is not a record: a screen that reconnects (after retry) reads the lists again.
	rt.get("/live", who, func(c *fiber.Ctx) error {
		feed, cancel, ok := hub.Subscribe(auth.PrincipalFrom(c.UserContext()))
		if !ok {
			return domain.Errorf(domain.CodeForbidden, "only dispatchers and admins follow the live stream")
		}
		c.Set(fiber.HeaderContentType, "text/event-stream")
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set("X-Accel-Buffering", "no") // proxies must pass events on at once
		conn := c.Context().Conn()
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer cancel()
			end := time.NewTimer(streaming.lifetime)
			defer end.Stop()
			beat := time.NewTicker(streaming.heartbeat)
			defer beat.Stop()
			fmt.Fprintf(w, "retry: %d\n: live\n\n", retryMillis)
			// The server's write deadline is set once per response; a stream that lives
			// longer moves it on with each write. A client that left fails the flush.
			for conn.SetWriteDeadline(time.Now().Add(streaming.writeTimeout)) == nil && w.Flush() == nil {
				select {
				case e, open := <-feed:
					if !open {
						return
					}
					data, _ := json.Marshal(e)
					fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Kind, data)
				case <-beat.C:
					fmt.Fprint(w, ": still here\n\n")
				case <-end.C:
					return
				}
			}
		})
		return nil
	}).doc("Follow the caller's offices live: couriers' positions, stops' outcomes, quarantined facts and delay alerts as they are committed "+
		"(Server-Sent Events: event position, outcome, quarantined or delay_alert; data {event, id, post_office_id, data})").
		answers(fiber.StatusOK, nil).alsoAnswers("text/event-stream")
	rt.get("/alerts", who, func(c *fiber.Ctx) error {
		var p domain.Problems
		page, closed := queryPage(c, &p), queryBool(c, &p, "closed")
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.Alerts(c.UserContext(), closed, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, delayAlertOf))
	}).doc("List delay alerts of the caller's offices, newest first, each with what to do").params(paging...).
		params(param("closed", false, "only those closed (true) or still open (false)")).
		answers(fiber.StatusOK, listBody[delayAlertDTO]{})
	rt.post("/alerts/:key/close", who, byID("delay alert", func(c *fiber.Ctx, id uuid.UUID) error {
		var body closeAlertBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		if err := svc.CloseAlert(c.UserContext(), id, body.Note); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("Close a delay alert, saying what was done").takes(closeAlertBody{}).answers(fiber.StatusNoContent, nil)
}

// nudgeDelays has the delay alerts of the calling courier's office checked, now that
// their facts or position are committed.
func nudgeDelays(svc *dispatch.Service, log *slog.Logger) func(c *fiber.Ctx) {
	return func(c *fiber.Ctx) {
		if courier, ok := auth.ScopeOf(auth.PrincipalFrom(c.UserContext())).Courier(); ok && svc != nil {
			svc.Nudge(courier, log)
		}
	}
}

package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"courierd/domain"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
)

type fieldTaskDTO struct {
	TaskID         string    `json:"task_id"`
	DossierID      string    `json:"dossier_id"`
	Kind           string    `json:"kind"`
	State          string    `json:"state"`
	Version        int       `json:"version"`
	ScheduledFor   string    `json:"scheduled_for,omitempty"`
	ReceiptCode    string    `json:"receipt_code"`
	DossierState   string    `json:"dossier_state"`
	DossierVersion int       `json:"dossier_version"`
	ApplicantName  string    `json:"applicant_name"`
	ApplicantPhone string    `json:"applicant_phone"`
	Address        string    `json:"address"`
	Location       *pointDTO `json:"location"`
}

type feedChangeDTO struct {
	V      int64         `json:"v"`
	Entity string        `json:"entity"`
	Op     string        `json:"op"`
	ID     string        `json:"id"`
	Reason string        `json:"reason,omitempty"`
	Data   *fieldTaskDTO `json:"data,omitempty"`
}

type pullDTO struct {
	Cursor     string          `json:"cursor"`
	HasMore    bool            `json:"has_more"`
	Reset      bool            `json:"reset"`
	Changes    []feedChangeDTO `json:"changes"`
	ServerTime time.Time       `json:"server_time"`
}

func toFeedChangeDTO(c dossier.FeedChange) feedChangeDTO {
	dto := feedChangeDTO{V: c.V, Entity: "task", Op: c.Op, ID: c.TaskID.String(), Reason: c.Reason}
	if t := c.Task; t != nil {
		dto.Data = &fieldTaskDTO{TaskID: t.TaskID.String(), DossierID: t.DossierID.String(), Kind: string(t.Kind), State: string(t.State),
			Version: t.Version, ScheduledFor: dateText(t.ScheduledFor), ReceiptCode: t.ReceiptCode, DossierState: string(t.DossierState),
			DossierVersion: t.DossierVersion, ApplicantName: t.ApplicantName, ApplicantPhone: t.ApplicantPhone, Address: t.Address,
			Location: toPointDTO(t.Location)}
	}
	return dto
}

func mountSync(rt *router, svc *fieldsync.Service, now func() time.Time) {
	rt.get("/device/sync/pull", onDevice, func(c *fiber.Ctx) error {
		var p domain.Problems
		limit := queryInt(c, &p, "limit")
		if err := p.Err(); err != nil {
			return err
		}
		page, err := svc.Pull(c.UserContext(), c.Query("cursor"), limit)
		if err != nil {
			return err
		}
		out := pullDTO{Cursor: page.Cursor, HasMore: page.HasMore, Reset: page.Reset, Changes: make([]feedChangeDTO, len(page.Changes)),
			ServerTime: now().UTC()}
		for i, ch := range page.Changes {
			out.Changes[i] = toFeedChangeDTO(ch)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(out)
	})
}

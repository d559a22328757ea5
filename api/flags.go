package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// flagDTO is what a courier's report raised for the dispatcher (see dossier.Flag).
type flagDTO struct {
	ID           int64     `json:"id"`
	DossierID    string    `json:"dossier_id"`
	PostOfficeID string    `json:"post_office_id"`
	CourierID    string    `json:"courier_id,omitempty"`
	Event        string    `json:"event" doc:"the dossier event the report recorded" example:"pick_up"`
	Kind         string    `json:"kind" enum:"fix_missing,fix_far,fix_inaccurate,documents_missing"`
	DistanceM    *float64  `json:"distance_m,omitempty"`
	AccuracyM    *float64  `json:"accuracy_m,omitempty"`
	Documents    []string  `json:"documents,omitempty"`
	At           time.Time `json:"at"`
}

func toFlagDTO(f dossier.Flag) flagDTO {
	out := flagDTO{ID: f.ID, DossierID: f.DossierID.String(), PostOfficeID: f.PostOfficeID.String(), Event: string(f.Event),
		Kind: string(f.Kind), DistanceM: f.DistanceM, AccuracyM: f.AccuracyM, Documents: f.Documents, At: f.At}
	if f.CourierID != uuid.Nil {
		out.CourierID = f.CourierID.String()
	}
	return out
}

// mountFlags serves the flags couriers' reports raised: per dossier for those who may see
// it (the agency's clerk too: papers missing from a pickup are theirs to know), and per
// post office for its dispatchers.
func mountFlags(rt *router, svc *dossier.Service) {
	list := func(c *fiber.Ctx, read func(page domain.Page) (domain.List[dossier.Flag], error)) error {
		var p domain.Problems
		page := queryPage(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		flags, err := read(page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(flags, page, toFlagDTO))
	}
	rt.get("/dossiers/:key/flags", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk), byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		return list(c, func(page domain.Page) (domain.List[dossier.Flag], error) { return svc.Flags(c.UserContext(), id, page) })
	})).doc("The flags couriers' reports raised on a dossier").params(paging...).answers(fiber.StatusOK, listBody[flagDTO]{})
	rt.get("/post-offices/:key/flags", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		return list(c, func(page domain.Page) (domain.List[dossier.Flag], error) {
			return svc.OfficeFlags(c.UserContext(), id, page)
		})
	})).doc("The flags couriers' reports raised at a post office").params(paging...).answers(fiber.StatusOK, listBody[flagDTO]{})
}

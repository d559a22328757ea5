package api

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/counter"
	"courierd/domain/dossier"
)

type newManifestBody struct {
	Direction    string   `json:"direction" enum:"to_agency,from_agency" example:"to_agency"`
	PostOfficeID string   `json:"post_office_id" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
	AgencyID     string   `json:"agency_id" example:"0b6e4c1a-2d3f-4e5a-8b9c-1d2e3f4a5b6c"`
	SealNumber   string   `json:"seal_number" optional:"true" example:"SEAL-000123"`
	DossierIDs   []string `json:"dossier_ids" doc:"the dossiers (or results) in the bag"`
}

// receiveBody is what the receiver counted: ids, or receipt codes scanned off the
// items, or both; and the seal number read on the bag.
type receiveBody struct {
	DossierIDs   []string `json:"dossier_ids" optional:"true"`
	ReceiptCodes []string `json:"receipt_codes" optional:"true"`
	SealNumber   string   `json:"seal_number" optional:"true" example:"SEAL-000123" doc:"the seal number read on the bag"`
	Note         string   `json:"note" optional:"true"`
}

type manifestItemDTO struct {
	DossierID string `json:"dossier_id"`
	Status    string `json:"status" enum:"sent,received,missing,extra" example:"sent"`
}

type manifestDTO struct {
	ID            string            `json:"id"`
	Direction     string            `json:"direction" enum:"to_agency,from_agency" example:"to_agency"`
	PostOfficeID  string            `json:"post_office_id"`
	AgencyID      string            `json:"agency_id"`
	SealNumber    string            `json:"seal_number,omitempty" example:"SEAL-000123"`
	SealRead      string            `json:"seal_read,omitempty" example:"SEAL-000123" doc:"the seal number the receiver read on the bag"`
	SentBy        string            `json:"sent_by"`
	SentAt        time.Time         `json:"sent_at"`
	ReceivedBy    string            `json:"received_by,omitempty"`
	ReceivedAt    *time.Time        `json:"received_at,omitempty"`
	Note          string            `json:"note,omitempty"`
	Items         []manifestItemDTO `json:"items"`
	Discrepancies int               `json:"discrepancies" example:"0" doc:"items missing or extra on receipt"`
	Version       int               `json:"version"`
}

func toManifestDTO(m counter.Manifest) manifestDTO {
	dto := manifestDTO{ID: m.ID.String(), Direction: string(m.Direction), PostOfficeID: m.PostOfficeID.String(), AgencyID: m.AgencyID.String(),
		SealNumber: m.SealNumber, SealRead: m.SealRead, SentBy: idText(m.SentBy), SentAt: m.SentAt, ReceivedBy: idText(m.ReceivedBy), ReceivedAt: m.ReceivedAt,
		Note: m.Note, Discrepancies: m.Discrepancies, Version: m.Version, Items: []manifestItemDTO{}}
	for _, it := range m.Items {
		dto.Items = append(dto.Items, manifestItemDTO{DossierID: it.DossierID.String(), Status: string(it.Status)})
	}
	return dto
}

// ids reads a list of UUIDs, naming each bad one.
func ids(p *domain.Problems, field string, texts []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(texts))
	for i, text := range texts {
		id, err := uuid.Parse(text)
		p.Check(err == nil, fmt.Sprintf("%s[%d]", field, i), "must be a UUID")
		out = append(out, id)
	}
	return out
}

type explanationDTO struct {
	DossierID string `json:"dossier_id"`
	Reason    string `json:"reason" example:"the applicant asked to be visited tomorrow"`
}

type closeDayBody struct {
	Date         string           `json:"date" format:"date" example:"2026-12-08"`
	Explanations []explanationDTO `json:"explanations" optional:"true" doc:"why each dossier still in the bag stays there"`
}

// closedDayDTO is a courier's closed day.
type closedDayDTO struct {
	CourierID string    `json:"courier_id"`
	Date      string    `json:"date" format:"date" example:"2026-12-08"`
	ClosedAt  time.Time `json:"closed_at"`
	Kept      int       `json:"kept" example:"0" doc:"how many dossiers stay in the bag, explained"`
}

func mountManifests(rt *router, svc *counter.Service) {
	parties := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk)
	rt.post("/manifests", parties, func(c *fiber.Ctx) error {
		var body newManifestBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		m := counter.Manifest{Direction: counter.ManifestDirection(body.Direction), SealNumber: body.SealNumber,
			PostOfficeID: optionalID(&p, "post_office_id", body.PostOfficeID), AgencyID: optionalID(&p, "agency_id", body.AgencyID)}
		for _, id := range ids(&p, "dossier_ids", body.DossierIDs) {
			m.Items = append(m.Items, counter.ManifestItem{DossierID: id})
		}
		if err := p.Err(); err != nil {
			return err
		}
		created, err := svc.CreateManifest(c.UserContext(), m)
		if err != nil {
			return err
		}
		c.Location("/v1/manifests/" + created.ID.String())
		return c.Status(fiber.StatusCreated).JSON(toManifestDTO(created))
	}).doc("Send a sealed bag of dossiers between a post office and an agency").takes(newManifestBody{}).
		answers(fiber.StatusCreated, manifestDTO{}).fails(domain.CodeConflict)
	rt.get("/manifests", parties, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		f := counter.ManifestFilter{Received: queryBool(c, &p, "received")}
		if d := queryBool(c, &p, "discrepancies"); d != nil {
			f.Discrepancies = *d
		}
		if err := p.Err(); err != nil {
			return err
		}
		return answerList(c, "manifests.csv", page, func(ctx context.Context, page domain.Page) (domain.List[counter.Manifest], error) {
			return svc.ListManifests(ctx, f, page)
		}, toManifestDTO)
	}).doc("List manifests").params(paging...).
		params(param("received", false, "only manifests received (true) or still open (false)"),
			param("discrepancies", false, "only manifests received with items missing or extra")).
		answers(fiber.StatusOK, listBody[manifestDTO]{}).alsoAnswers(mimeCSV)
	rt.get("/manifests/:key", parties, byID("manifest", func(c *fiber.Ctx, id uuid.UUID) error {
		m, err := svc.GetManifest(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toManifestDTO(m))
	})).doc("One manifest").answers(fiber.StatusOK, manifestDTO{})
	rt.post("/manifests/:key/receive", parties, byID("manifest", func(c *fiber.Ctx, id uuid.UUID) error {
		var body receiveBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		r := counter.Receipt{DossierIDs: ids(&p, "dossier_ids", body.DossierIDs), SealRead: body.SealNumber, Note: body.Note}
		for _, code := range body.ReceiptCodes {
			r.ReceiptCodes = append(r.ReceiptCodes, dossier.ReceiptCode(code))
		}
		if err := p.Err(); err != nil {
			return err
		}
		m, err := svc.ReceiveManifest(c.UserContext(), id, r)
		if err != nil {
			return err
		}
		return c.JSON(toManifestDTO(m))
	})).doc("Count a manifest's bag in: what arrived, what is missing, what was not listed").takes(receiveBody{}).
		answers(fiber.StatusOK, manifestDTO{}).fails(dossier.CodeInvalidTransition, domain.CodeConflict)
	rt.post("/couriers/:key/close-day", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), byID("courier", func(c *fiber.Ctx, courier uuid.UUID) error {
		var body closeDayBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		day := parseDate(&p, "date", body.Date)
		explanations := map[uuid.UUID]string{}
		for i, e := range body.Explanations {
			id, err := uuid.Parse(e.DossierID)
			p.Check(err == nil, fmt.Sprintf("explanations[%d].dossier_id", i), "must be a UUID")
			explanations[id] = e.Reason
		}
		if err := p.Err(); err != nil {
			return err
		}
		closed, err := svc.CloseDay(c.UserContext(), courier, day, explanations)
		if err != nil {
			return err
		}
		return c.JSON(closedDayDTO{CourierID: closed.CourierID.String(), Date: closed.Day.Format(dateLayout), ClosedAt: closed.ClosedAt,
			Kept: len(closed.Explanations)})
	})).doc("Close a courier's day: every dossier still in the bag must be explained").takes(closeDayBody{}).
		answers(fiber.StatusOK, closedDayDTO{}).fails(counter.CodeBagNotEmpty, domain.CodeConflict)
}

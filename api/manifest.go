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

type manifestBody struct {
	Direction    string   `json:"direction"`
	PostOfficeID string   `json:"post_office_id"`
	AgencyID     string   `json:"agency_id"`
	SealNumber   string   `json:"seal_number"`
	DossierIDs   []string `json:"dossier_ids"`
}

// receiveBody is what the receiver counted: ids, or receipt codes scanned off the
// items, or both; and the seal number read on the bag.
type receiveBody struct {
	DossierIDs   []string `json:"dossier_ids"`
	ReceiptCodes []string `json:"receipt_codes"`
	SealNumber   string   `json:"seal_number"`
	Note         string   `json:"note"`
}

type manifestItemDTO struct {
	DossierID string `json:"dossier_id"`
	Status    string `json:"status"`
}

type manifestDTO struct {
	ID            string            `json:"id"`
	Direction     string            `json:"direction"`
	PostOfficeID  string            `json:"post_office_id"`
	AgencyID      string            `json:"agency_id"`
	SealNumber    string            `json:"seal_number,omitempty"`
	SealRead      string            `json:"seal_read,omitempty"`
	SentBy        string            `json:"sent_by"`
	SentAt        time.Time         `json:"sent_at"`
	ReceivedBy    string            `json:"received_by,omitempty"`
	ReceivedAt    *time.Time        `json:"received_at,omitempty"`
	Note          string            `json:"note,omitempty"`
	Items         []manifestItemDTO `json:"items"`
	Discrepancies int               `json:"discrepancies"`
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
	Reason    string `json:"reason"`
}

type closeDayBody struct {
	Date         string           `json:"date"`
	Explanations []explanationDTO `json:"explanations"`
}

func mountManifests(rt *router, svc *counter.Service) {
	parties := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk)
	rt.post("/manifests", parties, func(c *fiber.Ctx) error {
		var body manifestBody
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
	})
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
	})
	rt.get("/manifests/:key", parties, byID("manifest", func(c *fiber.Ctx, id uuid.UUID) error {
		m, err := svc.GetManifest(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toManifestDTO(m))
	}))
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
	}))
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
		return c.JSON(fiber.Map{"courier_id": closed.CourierID, "date": closed.Day.Format(dateLayout), "closed_at": closed.ClosedAt,
			"kept": len(closed.Explanations)})
	}))
}

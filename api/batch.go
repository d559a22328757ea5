package api

import (
	"github.com/gofiber/fiber/v2"

	"courierd/domain"
	"courierd/domain/dossier"
)

// batchItemDTO is one dossier of a batch: POST /v1/dossiers's body, and the portal's own
// reference of the dossier when a portal sent it.
type batchItemDTO struct {
	newDossierDTO
	PortalRef string `json:"portal_ref"`
}

type batchDTO struct {
	Dossiers []batchItemDTO `json:"dossiers"`
}

type batchResultDTO struct {
	Index       int                  `json:"index"`
	Status      dossier.IntakeStatus `json:"status"`
	ID          string               `json:"id,omitempty"`
	ReceiptCode string               `json:"receipt_code,omitempty"`
	Code        domain.Code          `json:"code,omitempty"`
	Detail      string               `json:"detail,omitempty"`
	Errors      []problemField       `json:"errors,omitempty"`
}

// decodeBatch reads a batch as JSON ({"dossiers":[…]}) or, sent as text/csv, one dossier a
// row, with what was wrong with each item as it was read (a CSV cell of the wrong type).
func decodeBatch(c *fiber.Ctx) ([]batchItemDTO, []domain.Problems, error) {
	if isCSV(c) {
		return decodeCSV[batchItemDTO](c.Body(), dossier.MaxIntake)
	}
	var body batchDTO
	if err := decodeJSON(c, &body); err != nil {
		return nil, nil, err
	}
	return body.Dossiers, make([]domain.Problems, len(body.Dossiers)), nil
}

// batchHandler opens each dossier of a batch on its own and answers 200 with every
// item's outcome in the request's order, and how many of each.
func batchHandler(svc *dossier.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		dossiers, unreadable, err := decodeBatch(c)
		if err != nil {
			return err
		}
		items := make([]dossier.IntakeItem, len(dossiers))
		for i, b := range dossiers {
			// An item whose identifiers do not parse is refused alone, like any invalid one.
			p := unreadable[i]
			items[i].NewDossier = fromNewDossierDTO(&p, b.newDossierDTO)
			items[i].PortalRef, items[i].Unreadable = b.PortalRef, p.Err()
		}
		results, err := svc.CreateBatch(c.UserContext(), items)
		if err != nil {
			return err
		}
		out := make([]batchResultDTO, len(results))
		counts := map[dossier.IntakeStatus]int{}
		for i, r := range results {
			counts[r.Status]++
			out[i] = batchResultDTO{Index: i, Status: r.Status}
			if r.Err != nil {
				p := toProblem(c.UserContext(), r.Err)
				out[i].Code, out[i].Detail, out[i].Errors = p.Code, p.Detail, p.Errors
				continue
			}
			out[i].ID = r.Dossier.ID.String()
			if r.Status == dossier.IntakeCreated {
				out[i].ReceiptCode = r.Dossier.Receipt.String()
			}
		}
		return c.JSON(fiber.Map{"results": out, "created": counts[dossier.IntakeCreated], "refused": counts[dossier.IntakeRefused],
			"known": counts[dossier.IntakeKnown]})
	}
}

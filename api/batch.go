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
	PortalRef string `json:"portal_ref" optional:"true" example:"DVC-2026-000123" doc:"the portal's own reference: an item whose reference is already known is answered known, not opened again"`
}

type batchDTO struct {
	Dossiers []batchItemDTO `json:"dossiers" doc:"the dossiers to open, at most a batch's limit"`
}

// batchResultDTO is one item's outcome: opened (created, with its receipt code), already
// known by its portal_ref (known, with its id), or refused with a problem's code and fields.
type batchResultDTO struct {
	Index       int                  `json:"index" example:"0" doc:"the item's place in the request, from 0"`
	Status      dossier.IntakeStatus `json:"status" enum:"created,refused,known" example:"created"`
	ID          string               `json:"id,omitempty" example:"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"`
	ReceiptCode string               `json:"receipt_code,omitempty" example:"7K3M-9QX2-D"`
	Code        domain.Code          `json:"code,omitempty" example:"VALIDATION_FAILED" doc:"why the item was refused: a problem code"`
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

// batchResultsDTO is a batch's answer: every item's outcome, and how many of each.
type batchResultsDTO struct {
	Results []batchResultDTO `json:"results"`
	Created int              `json:"created" example:"2"`
	Refused int              `json:"refused" example:"1"`
	Known   int              `json:"known" example:"0"`
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
		return c.JSON(batchResultsDTO{Results: out, Created: counts[dossier.IntakeCreated], Refused: counts[dossier.IntakeRefused],
			Known: counts[dossier.IntakeKnown]})
	}
}

package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/payment"
)

type slotTemplateDTO struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Capacity int    `json:"capacity" bound:"-int4..int4" column:"post_office_slots.capacity"`
}

type slotOfferDTO struct {
	Date      string `json:"date"`
	Start     string `json:"start"`
	End       string `json:"end"`
	Remaining int    `json:"remaining"`
	Full      bool   `json:"full"`
}

type addressDTO struct {
	Text          string    `json:"text"`
	AdminUnitCode string    `json:"admin_unit_code"`
	Location      *pointDTO `json:"location"`
}

// bookingDTO is a stop the applicant books: a day, one of the offered slots, and
// optionally the address corrected with its pin.
type bookingDTO struct {
	Choice  string      `json:"choice"` // deliveries: home or post_office
	Date    string      `json:"date"`
	Slot    *slotDTO    `json:"slot"`
	Address *addressDTO `json:"address"`
}

func (b bookingDTO) booking(p *domain.Problems) applicant.Booking {
	var out applicant.Booking
	if b.Date != "" {
		out.Date = parseDate(p, "date", b.Date)
	}
	if s := fromSlotDTO(p, "slot", b.Slot); s != nil {
		out.Slot = *s
	}
	if a := b.Address; a != nil {
		out.Address = &dossier.Address{Text: a.Text, AdminUnitCode: a.AdminUnitCode, Location: fromPointDTO(p, "address.location", a.Location)}
	}
	return out
}

type ratingDTO struct {
	Stars   int    `json:"stars" bound:"-int2..int2" column:"dossier_ratings.stars"`
	Comment string `json:"comment"`
}

type preferenceDTO struct {
	Channel  string `json:"channel"`
	OptedOut bool   `json:"opted_out"`
}

// mountChoices serves what applicants decide about their own dossiers (slots, pickup,
// delivery, rating, messages, the door code and the bill), and the slots dispatchers
// offer them.
func mountChoices(rt *router, dossiers *dossier.Service, applicants *applicant.Service, payments *payment.Service) {
	rt.get("/post-offices/:key/slots", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		slots, err := applicants.Slots(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"slots": toSlotTemplateDTOs(slots)})
	}))
	rt.put("/post-offices/:key/slots", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		var body struct {
			Slots []slotTemplateDTO `json:"slots"`
		}
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		slots := make([]applicant.SlotTemplate, len(body.Slots))
		for i, s := range body.Slots {
			window := fromSlotDTO(&p, "slots", &slotDTO{Start: s.Start, End: s.End})
			slots[i] = applicant.SlotTemplate{Slot: *window, Capacity: s.Capacity}
		}
		if err := p.Err(); err != nil {
			return err
		}
		if err := applicants.SetSlots(c.UserContext(), id, slots); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"slots": toSlotTemplateDTOs(slots)})
	}))

	rt.get("/citizen/dossiers/:key/slots", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		offers, err := applicants.OfferSlots(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]slotOfferDTO, len(offers))
		for i, o := range offers {
			out[i] = slotOfferDTO{Date: o.Date.Format(dateLayout), Start: clock(o.Slot.StartMin), End: clock(o.Slot.EndMin),
				Remaining: max(o.Capacity-o.Taken, 0), Full: o.Full()}
		}
		return c.JSON(fiber.Map{"slots": out})
	}))
	choice := func(apply func(c *fiber.Ctx, id uuid.UUID, b bookingDTO) (dossier.Dossier, error)) fiber.Handler {
		return byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
			var body bookingDTO
			if len(c.Body()) > 0 {
				if err := decodeJSON(c, &body); err != nil {
					return err
				}
			}
			d, err := apply(c, id, body)
			if err != nil {
				return err
			}
			_, tasks, err := dossiers.Get(c.UserContext(), id)
			if err != nil {
				return err
			}
			return c.JSON(toCitizenDossierDTO(d, tasks))
		})
	}
	rt.put("/citizen/dossiers/:key/pickup", citizens, choice(func(c *fiber.Ctx, id uuid.UUID, b bookingDTO) (dossier.Dossier, error) {
		var p domain.Problems
		booking := b.booking(&p)
		if err := p.Err(); err != nil {
			return dossier.Dossier{}, err
		}
		return applicants.BookPickup(c.UserContext(), id, booking)
	}))
	rt.handle(fiber.MethodDelete, "/citizen/dossiers/:key/pickup", citizens, choice(func(c *fiber.Ctx, id uuid.UUID, _ bookingDTO) (dossier.Dossier, error) {
		return applicants.CancelPickup(c.UserContext(), id)
	}))
	rt.put("/citizen/dossiers/:key/delivery", citizens, choice(func(c *fiber.Ctx, id uuid.UUID, b bookingDTO) (dossier.Dossier, error) {
		var p domain.Problems
		request := applicant.DeliveryRequest{Choice: dossier.DeliveryChoice(b.Choice)}
		if request.Choice == dossier.ChoiceHome {
			request.Booking = b.booking(&p)
		}
		if err := p.Err(); err != nil {
			return dossier.Dossier{}, err
		}
		return applicants.ChooseDelivery(c.UserContext(), id, request)
	}))
	rt.get("/citizen/dossiers/:key/handover", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		d, _, err := dossiers.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		h, err := dossiers.HandoverCode(c.UserContext(), id)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"code": h.Code, "expires_at": h.ExpiresAt, "qr": dossier.HandoverQR(d.Receipt, h.Code)})
	}))
	rt.put("/citizen/dossiers/:key/rating", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		var body ratingDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		r, err := applicants.Rate(c.UserContext(), id, body.Stars, body.Comment)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"stars": r.Stars, "comment": r.Comment, "rated_at": r.RatedAt})
	}))
	rt.get("/citizen/dossiers/:key/bill", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		b, err := payments.Bill(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"fee_vnd": b.FeeVND, "postage_vnd": b.PostageVND, "surcharge_vnd": b.SurchargeVND,
			"due_vnd": b.DueVND, "paid_vnd": b.PaidVND, "refund_vnd": b.RefundVND, "vietqr": b.QR})
	}))
	rt.get("/citizen/preferences", citizens, func(c *fiber.Ctx) error {
		pref, err := applicants.MyPreference(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(preferenceDTO{Channel: string(pref.Channel), OptedOut: pref.OptedOut})
	})
	rt.put("/citizen/preferences", citizens, func(c *fiber.Ctx) error {
		var body preferenceDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		pref, err := applicants.SetMyPreference(c.UserContext(), dossier.Preference{Channel: dossier.ChannelPreference(body.Channel), OptedOut: body.OptedOut})
		if err != nil {
			return err
		}
		return c.JSON(preferenceDTO{Channel: string(pref.Channel), OptedOut: pref.OptedOut})
	})
}

func toSlotTemplateDTOs(slots []applicant.SlotTemplate) []slotTemplateDTO {
	out := make([]slotTemplateDTO, len(slots))
	for i, s := range slots {
		out[i] = slotTemplateDTO{Start: clock(s.StartMin), End: clock(s.EndMin), Capacity: s.Capacity}
	}
	return out
}

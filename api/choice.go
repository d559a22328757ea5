package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/payment"
)

type slotTemplateDTO struct {
	Start    string `json:"start" example:"08:00"`
	End      string `json:"end" example:"10:00"`
	Capacity int    `json:"capacity" bound:"-int4..int4" column:"post_office_slots.capacity"`
}

// slotTemplatesDTO is a post office's daily slots, which applicants book.
type slotTemplatesDTO struct {
	Slots []slotTemplateDTO `json:"slots"`
}

type slotOfferDTO struct {
	Date      string `json:"date" format:"date" example:"2026-12-08"`
	Start     string `json:"start" example:"08:00"`
	End       string `json:"end" example:"10:00"`
	Remaining int    `json:"remaining"`
	Full      bool   `json:"full"`
}

// slotOffersDTO is the coming week's slots open to a dossier's applicant.
type slotOffersDTO struct {
	Slots []slotOfferDTO `json:"slots"`
}

type addressDTO struct {
	Text          string    `json:"text" example:"12 Phố Đội Cấn"`
	AdminUnitCode string    `json:"admin_unit_code" example:"00004"`
	Location      *pointDTO `json:"location"`
}

// bookingDTO is a stop the applicant books: a day, one of the offered slots, and
// optionally the address corrected with its pin.
type bookingDTO struct {
	Choice  string      `json:"choice" optional:"true" enum:"home,post_office" doc:"deliveries only: home, or post_office to collect it there"`
	Date    string      `json:"date" optional:"true" format:"date" example:"2026-12-08"`
	Slot    *slotDTO    `json:"slot" optional:"true"`
	Address *addressDTO `json:"address" optional:"true" doc:"the address corrected, with its pin"`
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
	Stars   int    `json:"stars" example:"5" bound:"-int2..int2" column:"dossier_ratings.stars"`
	Comment string `json:"comment" optional:"true"`
}

// ratedDTO is a recorded rating.
type ratedDTO struct {
	Stars   int       `json:"stars" example:"5"`
	Comment string    `json:"comment"`
	RatedAt time.Time `json:"rated_at"`
}

// handoverDTO is the code the applicant shows the courier at delivery, also as a QR.
type handoverDTO struct {
	Code      string     `json:"code" example:"482913"`
	ExpiresAt *time.Time `json:"expires_at"`
	QR        string     `json:"qr" doc:"the QR code's text: the receipt code and the handover code"`
}

// billDTO is what the applicant owes for a dossier, in đồng, and how to pay it.
type billDTO struct {
	FeeVND       int64  `json:"fee_vnd" example:"50000"`
	PostageVND   int64  `json:"postage_vnd" example:"22000"`
	SurchargeVND int64  `json:"surcharge_vnd"`
	DueVND       int64  `json:"due_vnd" example:"72000"`
	PaidVND      int64  `json:"paid_vnd"`
	RefundVND    int64  `json:"refund_vnd"`
	VietQR       string `json:"vietqr" doc:"a VietQR payload for the amount due"`
}

type preferenceDTO struct {
	Channel  string `json:"channel" enum:"any,sms,zalo"`
	OptedOut bool   `json:"opted_out" optional:"true"`
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
		return c.JSON(slotTemplatesDTO{Slots: toSlotTemplateDTOs(slots)})
	})).doc("A post office's daily slots").answers(fiber.StatusOK, slotTemplatesDTO{})
	rt.put("/post-offices/:key/slots", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("post office", func(c *fiber.Ctx, id uuid.UUID) error {
		var body slotTemplatesDTO
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
		return c.JSON(slotTemplatesDTO{Slots: toSlotTemplateDTOs(slots)})
	})).doc("Set a post office's daily slots").takes(slotTemplatesDTO{}).answers(fiber.StatusOK, slotTemplatesDTO{})

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
		return c.JSON(slotOffersDTO{Slots: out})
	})).doc("The slots an applicant may book this coming week").answers(fiber.StatusOK, slotOffersDTO{})
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
	})).doc("Book or move the pickup of one's dossier").mayTake(bookingDTO{}).answers(fiber.StatusOK, citizenDossierDTO{}).
		fails(choiceCodes...)
	rt.handle(fiber.MethodDelete, "/citizen/dossiers/:key/pickup", citizens, choice(func(c *fiber.Ctx, id uuid.UUID, _ bookingDTO) (dossier.Dossier, error) {
		return applicants.CancelPickup(c.UserContext(), id)
	})).doc("Cancel the pickup of one's dossier").mayTake(bookingDTO{}).answers(fiber.StatusOK, citizenDossierDTO{}).fails(choiceCodes...)
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
	})).doc("Choose how one's result comes back: home delivery in a slot, or collection").mayTake(bookingDTO{}).
		answers(fiber.StatusOK, citizenDossierDTO{}).fails(choiceCodes...)
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
		return c.JSON(handoverDTO{Code: h.Code, ExpiresAt: h.ExpiresAt, QR: dossier.HandoverQR(d.Receipt, h.Code)})
	})).doc("The code to show the courier at delivery").answers(fiber.StatusOK, handoverDTO{})
	rt.put("/citizen/dossiers/:key/rating", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		var body ratingDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		r, err := applicants.Rate(c.UserContext(), id, body.Stars, body.Comment)
		if err != nil {
			return err
		}
		return c.JSON(ratedDTO{Stars: r.Stars, Comment: r.Comment, RatedAt: r.RatedAt})
	})).doc("Rate the service once the result has reached one").takes(ratingDTO{}).answers(fiber.StatusOK, ratedDTO{}).
		fails(applicant.CodeNotRatable)
	rt.get("/citizen/dossiers/:key/bill", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		b, err := payments.Bill(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(billDTO{FeeVND: b.FeeVND, PostageVND: b.PostageVND, SurchargeVND: b.SurchargeVND,
			DueVND: b.DueVND, PaidVND: b.PaidVND, RefundVND: b.RefundVND, VietQR: b.QR})
	})).doc("What one owes for a dossier, and a VietQR payload to pay it").answers(fiber.StatusOK, billDTO{})
	rt.get("/citizen/preferences", citizens, func(c *fiber.Ctx) error {
		pref, err := applicants.MyPreference(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(preferenceDTO{Channel: string(pref.Channel), OptedOut: pref.OptedOut})
	}).doc("How one wants to be messaged").answers(fiber.StatusOK, preferenceDTO{})
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
	}).doc("Choose how one is messaged, or opt out").takes(preferenceDTO{}).answers(fiber.StatusOK, preferenceDTO{})
}

// choiceCodes are what an applicant's booking can meet besides a bad body: a full slot,
// a courier already on the way, a dossier past the step, or changed meanwhile.
var choiceCodes = []domain.Code{dossier.CodeSlotFull, applicant.CodeCourierOnTheWay, dossier.CodeInvalidTransition, domain.CodeVersionConflict}

func toSlotTemplateDTOs(slots []applicant.SlotTemplate) []slotTemplateDTO {
	out := make([]slotTemplateDTO, len(slots))
	for i, s := range slots {
		out[i] = slotTemplateDTO{Start: clock(s.StartMin), End: clock(s.EndMin), Capacity: s.Capacity}
	}
	return out
}

package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"golang.org/x/text/language"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/payment"
)

type otpRequestBody struct {
	ReceiptCode string `json:"receipt_code"`
	Phone       string `json:"phone"`
}

type otpVerifyBody struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
}

// citizenDossierDTO is a dossier as its applicant sees it: their own data masked as on
// paper, no internal names of staff or couriers.
type citizenDossierDTO struct {
	ID              string `json:"id"`
	ReceiptCode     string `json:"receipt_code"`
	ProcedureID     string `json:"procedure_id"`
	State           string `json:"state"`
	Pickup          bool   `json:"pickup"`
	Return          bool   `json:"return"`
	FeeVND          int64  `json:"fee_vnd"`
	PostageVND      int64  `json:"postage_vnd"`
	SurchargeVND    int64  `json:"surcharge_vnd"`
	DueVND          int64  `json:"due_vnd"`
	PaymentMethod   string `json:"payment_method"`
	DeliveryChoice  string `json:"delivery_choice,omitempty"`
	AppointmentDate string `json:"appointment_date,omitempty"`
	DeliveryDue     string `json:"delivery_due,omitempty"`
	HeldUntil       string `json:"held_until,omitempty"`
	ApplicantName   string `json:"applicant_name"`
	Phone           string `json:"phone"`
	CitizenID       string `json:"citizen_id"`
	Address         string `json:"address"`
	// AdminUnitCode is the ward of the address: a corrected address sends it back.
	AdminUnitCode string    `json:"admin_unit_code"`
	Location      *pointDTO `json:"location"`
	// Visits are the applicant's booked stops: the pickup and the delivery, with their
	// day, slot and, once the courier's route is published, the expected arrival.
	Visits []visitDTO `json:"visits"`
}

type visitDTO struct {
	Kind           string     `json:"kind"`
	State          string     `json:"state"`
	Date           string     `json:"date,omitempty"`
	Slot           *slotDTO   `json:"slot,omitempty"`
	PlannedArrival *time.Time `json:"planned_arrival,omitempty"`
}

func toCitizenDossierDTO(d dossier.Dossier, tasks []dossier.Task) citizenDossierDTO {
	dto := citizenDossierDTO{ID: d.ID.String(), ReceiptCode: d.Receipt.String(), ProcedureID: d.ProcedureID.String(),
		State: string(d.State), Pickup: d.Pickup, Return: d.Return, FeeVND: d.FeeVND, PostageVND: d.PostageVND,
		SurchargeVND: d.SurchargeVND, DueVND: d.DueVND(), PaymentMethod: string(d.Payment), DeliveryChoice: string(d.DeliveryChoice),
		AppointmentDate: dateText(d.AppointmentDate), DeliveryDue: dateText(d.DeliveryDue),
		HeldUntil: dateText(d.HeldUntil), ApplicantName: d.Applicant.Name, Phone: d.Applicant.MaskedPhone(),
		CitizenID: d.Applicant.MaskedCitizenID(), Address: d.Applicant.Address, AdminUnitCode: d.Applicant.AdminUnitCode, Location: toPointDTO(d.Applicant.Location),
		Visits: []visitDTO{}}
	for _, kind := range []dossier.TaskKind{dossier.TaskPickup, dossier.TaskDelivery} {
		for _, t := range tasks {
			if t.Kind == kind {
				dto.Visits = append(dto.Visits, visitDTO{Kind: string(t.Kind), State: string(t.State), Date: dateText(t.ScheduledFor),
					Slot: toSlotDTO(t.Slot), PlannedArrival: t.PlannedArrival})
			}
		}
	}
	return dto
}

func mountCitizens(rt *router, svc *auth.Citizens, dossiers *dossier.Service, applicants *applicant.Service, payments *payment.Service, tok *tokens) {
	enabled := func(c *fiber.Ctx) error {
		if svc == nil {
			return domain.Errorf(domain.CodeNotFound, "citizen login is not enabled on this server (OTP_SENDER)")
		}
		return c.Next()
	}
	rt.group.Use("/citizen/otp", enabled)
	rt.post("/citizen/otp", public, func(c *fiber.Ctx) error {
		var body otpRequestBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		code, err := dossier.ParseReceiptCode(body.ReceiptCode)
		if err != nil {
			return err
		}
		id, err := svc.RequestCode(c.UserContext(), string(code), body.Phone, c.IP())
		if err != nil {
			return err
		}
		// The same answer whether or not the code and phone matched a dossier.
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"challenge_id": id.String(), "expires_in": int(auth.DefaultOTP.TTL / time.Second)})
	})
	rt.post("/citizen/otp/verify", public, func(c *fiber.Ctx) error {
		var body otpVerifyBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		id := optionalID(&p, "challenge_id", body.ChallengeID)
		if err := p.Err(); err != nil {
			return err
		}
		principal, issued, err := svc.VerifyCode(c.UserContext(), id, body.Code)
		if err != nil {
			return err
		}
		access, err := tok.issue(auth.Session{Principal: principal, IssuedAt: issued})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"access_token": access, "token_type": "Bearer", "expires_in": int(tok.citizenTTL / time.Second)})
	})
	rt.get("/citizen/dossiers", citizens, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		list, err := dossiers.List(c.UserContext(), dossier.Filter{}, "", page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, func(d dossier.Dossier) citizenDossierDTO { return toCitizenDossierDTO(d, nil) }))
	})
	rt.get("/citizen/dossiers/:key/timeline", citizens, timelineHandler(applicants))
	rt.get("/citizen/dossiers/:key", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		d, tasks, err := dossiers.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toCitizenDossierDTO(d, tasks))
	}))
	mountChoices(rt, dossiers, applicants, payments)
}

// answerLangs are the languages answers are worded in, the default first.
var answerLangs = language.NewMatcher([]language.Tag{language.Vietnamese, language.English})

// answerLang picks the language of an answer's words: the request's own choice (?lang= or
// a body's lang) first, else the best of vi and en its Accept-Language allows, else
// Vietnamese. The answer names it in Content-Language, and caches learn it varies.
func answerLang(c *fiber.Ctx, asked string) applicant.Lang {
	c.Vary(fiber.HeaderAcceptLanguage)
	lang := applicant.LangVI
	if asked == "" {
		tags, _, err := language.ParseAcceptLanguage(c.Get(fiber.HeaderAcceptLanguage))
		if _, i, confidence := answerLangs.Match(tags...); err == nil && i == 1 && confidence != language.No {
			lang = applicant.LangEN
		}
	} else if asked == "en" {
		lang = applicant.LangEN
	}
	c.Set(fiber.HeaderContentLanguage, string(lang))
	return lang
}

// timelineHandler answers a dossier's public timeline, in Vietnamese or English
// (answerLang).
func timelineHandler(applicants *applicant.Service) fiber.Handler {
	return byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		lang := answerLang(c, c.Query("lang"))
		steps, next, err := applicants.PublicTimeline(c.UserContext(), id, lang)
		if err != nil {
			return err
		}
		return c.JSON(timelineBody(steps, next))
	})
}

// timelineBody is a dossier's public timeline and its next step.
func timelineBody(steps []applicant.Step, next applicant.NextStep) fiber.Map {
	out := make([]fiber.Map, len(steps))
	for i, s := range steps {
		out[i] = fiber.Map{"at": s.At, "text": s.Text}
	}
	return fiber.Map{"steps": out, "next": fiber.Map{"text": next.Text, "by": dateText(next.By)}}
}

type lookupBody struct {
	ReceiptCode string `json:"receipt_code"`
	PhoneLast4  string `json:"phone_last4"`
	Lang        string `json:"lang"`
}

// mountTracking serves the public lookup by receipt code and phone digits. Every lookup
// counts, per address and per code from that address, before anything is read.
func mountTracking(rt *router, applicants *applicant.Service, limiter *auth.Limiter) {
	rt.post("/track", public, func(c *fiber.Ctx) error {
		var body lookupBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		code, codeErr := dossier.ParseReceiptCode(body.ReceiptCode)
		var p domain.Problems
		p.Check(len(body.PhoneLast4) == 4 && strings.Trim(body.PhoneLast4, "0123456789") == "", "phone_last4", "the last four digits of the applicant's phone")
		p.Check(body.Lang == "" || body.Lang == "vi" || body.Lang == "en", "lang", "must be vi or en")
		// Every lookup counts against its address, a well-formed one against its code from
		// that address too, both in one call, before anything is read or refused.
		keys := []auth.LimitKey{{Scope: "track-source", Value: c.IP(), Rule: auth.TrackPerSource}}
		codeKey := auth.LimitKey{Scope: "track-code-source", Value: code.String() + " " + c.IP(), Rule: auth.TrackPerCodeAndSource}
		if codeErr == nil && p.Err() == nil {
			keys = append(keys, codeKey)
		}
		if err := limiter.Allow(c.UserContext(), keys...); err != nil {
			return err
		}
		if codeErr != nil {
			return codeErr
		}
		if err := p.Err(); err != nil {
			return err
		}
		steps, next, err := applicants.Track(c.UserContext(), code, body.PhoneLast4, answerLang(c, body.Lang))
		if err != nil {
			return err
		}
		if err := limiter.Forgive(c.UserContext(), codeKey); err != nil {
			return err
		}
		return c.JSON(timelineBody(steps, next))
	})
}

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
	ReceiptCode string `json:"receipt_code" example:"7K3M-9QX2-D"`
	Phone       string `json:"phone" example:"0912345678"`
}

// otpChallengeDTO names the code sent, the same whether or not a dossier matched.
type otpChallengeDTO struct {
	ChallengeID string `json:"challenge_id"`
	ExpiresIn   int    `json:"expires_in" doc:"seconds" example:"300"`
}

type otpVerifyBody struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code" example:"482913"`
}

// citizenTokenDTO is a citizen's access token; there is no refresh token.
type citizenTokenDTO struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type" enum:"Bearer"`
	ExpiresIn   int    `json:"expires_in" doc:"seconds" example:"1800"`
}

// citizenDossierDTO is a dossier as its applicant sees it: their own data masked as on
// paper, no internal names of staff or couriers.
type citizenDossierDTO struct {
	ID              string `json:"id" example:"6b1e3d9a-0c2f-4a7b-9e8d-3f5a1c7b9e20"`
	ReceiptCode     string `json:"receipt_code" example:"7K3M-9QX2-D"`
	ProcedureID     string `json:"procedure_id"`
	State           string `json:"state" enum:"requested,scheduled,assigned,picked_up,at_post_office,handed_to_agency,rejected_incomplete,in_processing,result_ready,result_at_post_office,out_for_delivery,delivered,delivery_failed,redelivery_scheduled,held_at_post_office,returned_to_agency,cancelled"`
	Pickup          bool   `json:"pickup"`
	Return          bool   `json:"return"`
	FeeVND          int64  `json:"fee_vnd" example:"50000"`
	PostageVND      int64  `json:"postage_vnd" example:"22000"`
	SurchargeVND    int64  `json:"surcharge_vnd"`
	DueVND          int64  `json:"due_vnd" example:"72000"`
	PaymentMethod   string `json:"payment_method" enum:"cash_to_courier,vietqr,online,at_counter,nothing_due"`
	DeliveryChoice  string `json:"delivery_choice,omitempty" enum:"home,post_office"`
	AppointmentDate string `json:"appointment_date,omitempty" format:"date"`
	DeliveryDue     string `json:"delivery_due,omitempty" format:"date"`
	HeldUntil       string `json:"held_until,omitempty" format:"date"`
	ApplicantName   string `json:"applicant_name"`
	Phone           string `json:"phone" doc:"masked" example:"091****678"`
	CitizenID       string `json:"citizen_id" doc:"masked"`
	Address         string `json:"address"`
	// AdminUnitCode is the ward of the address: a corrected address sends it back.
	AdminUnitCode string    `json:"admin_unit_code"`
	Location      *pointDTO `json:"location"`
	// Visits are the applicant's booked stops: the pickup and the delivery, with their
	// day, slot and, once the courier's route is published, the expected arrival.
	Visits []visitDTO `json:"visits"`
}

type visitDTO struct {
	Kind           string     `json:"kind" enum:"pickup,delivery"`
	State          string     `json:"state" enum:"open,scheduled,assigned,in_progress,done,failed,cancelled"`
	Date           string     `json:"date,omitempty" format:"date"`
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
		return c.Status(fiber.StatusAccepted).JSON(otpChallengeDTO{ChallengeID: id.String(), ExpiresIn: int(auth.DefaultOTP.TTL / time.Second)})
	}).doc("Ask for a one-time code by SMS, naming a dossier's receipt code and its phone").takes(otpRequestBody{}).
		answers(fiber.StatusAccepted, otpChallengeDTO{}).fails(dossier.CodeBadReceiptCode, domain.CodeTooManyAttempts, domain.CodeNotFound)
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
		return c.JSON(citizenTokenDTO{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(tok.citizenTTL / time.Second)})
	}).doc("Trade the one-time code for a citizen's access token").takes(otpVerifyBody{}).answers(fiber.StatusOK, citizenTokenDTO{}).
		fails(domain.CodeUnauthenticated, domain.CodeTooManyAttempts, domain.CodeNotFound)
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
	}).doc("One's own dossiers").params(paging...).answers(fiber.StatusOK, listBody[citizenDossierDTO]{})
	rt.get("/citizen/dossiers/:key/timeline", citizens, timelineHandler(applicants)).doc("One's dossier's timeline, in plain words").
		params(enumParam("lang", "the words' language, over Accept-Language", "vi", "en")).answers(fiber.StatusOK, timelineDTO{}).words()
	rt.get("/citizen/dossiers/:key", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		d, tasks, err := dossiers.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toCitizenDossierDTO(d, tasks))
	})).doc("One of one's dossiers").answers(fiber.StatusOK, citizenDossierDTO{})
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

// timelineDTO is a dossier's public timeline and its next step.
type timelineDTO struct {
	Steps []timelineStepDTO `json:"steps"`
	Next  nextStepDTO       `json:"next"`
}

type timelineStepDTO struct {
	At   time.Time `json:"at"`
	Text string    `json:"text" example:"Bưu điện đã nhận hồ sơ của bạn"`
}

type nextStepDTO struct {
	Text string `json:"text" example:"Bưu tá sẽ đến lấy hồ sơ"`
	By   string `json:"by" example:"2026-12-09" doc:"the day (YYYY-MM-DD) it is due by; empty when none is known"`
}

func timelineBody(steps []applicant.Step, next applicant.NextStep) timelineDTO {
	out := make([]timelineStepDTO, len(steps))
	for i, s := range steps {
		out[i] = timelineStepDTO{At: s.At, Text: s.Text}
	}
	return timelineDTO{Steps: out, Next: nextStepDTO{Text: next.Text, By: dateText(next.By)}}
}

type lookupBody struct {
	ReceiptCode string `json:"receipt_code" example:"7K3M-9QX2-D"`
	PhoneLast4  string `json:"phone_last4" example:"5678"`
	Lang        string `json:"lang" doc:"vi or en; over Accept-Language" optional:"true"`
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
	}).doc("Track a dossier by its receipt code and the last four digits of its phone").takes(lookupBody{}).
		answers(fiber.StatusOK, timelineDTO{}).words().fails(dossier.CodeBadReceiptCode, domain.CodeTooManyAttempts, domain.CodeNotFound)
}

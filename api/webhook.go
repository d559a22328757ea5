package api

import (
	"crypto/hmac"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
	"courierd/domain/payment"
	"courierd/domain/webhook"
)

// Portals sign each request: X-Portal-Timestamp (Unix seconds) and X-Portal-Signature,
// "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>" under the shared secret. A
// timestamp more than webhookSkew away is refused, so a captured request cannot be
// replayed later; a replay within the window finds the dossier already opened.
const (
	headerPortalTimestamp = "X-Portal-Timestamp"
	headerPortalSignature = "X-Portal-Signature"
	webhookSkew           = 5 * time.Minute
)

type portalDossierBody struct {
	PortalRef     string       `json:"portal_ref"`
	ProcedureCode string       `json:"procedure_code"`
	AgencyCode    string       `json:"agency_code"`
	PostOfficeID  string       `json:"post_office_id"`
	Applicant     applicantDTO `json:"applicant"`
	Pickup        bool         `json:"pickup"`
	Return        bool         `json:"return"`
	PaymentMethod string       `json:"payment_method"`
}

// SignPortalRequest is the signature a portal sends for body at timestamp: the scheme
// courierd signs its own deliveries with.
func SignPortalRequest(secret []byte, timestamp int64, body []byte) string {
	return webhook.Sign(secret, timestamp, body)
}

// verifyPortal checks a portal's signature and its timestamp's freshness.
func verifyPortal(c *fiber.Ctx, secret []byte, now func() time.Time) error {
	return verifySigned(c, secret, now, headerPortalTimestamp, headerPortalSignature, "portal webhook (PORTAL_WEBHOOK_SECRET)")
}

// verifySigned checks a caller's HMAC signature of "<timestamp>.<body>" and that the
// timestamp is within webhookSkew of now; what names the endpoint and its setting.
func verifySigned(c *fiber.Ctx, secret []byte, now func() time.Time, timestampHeader, signatureHeader, what string) error {
	if len(secret) == 0 {
		return domain.Errorf(domain.CodeNotFound, "the %s is not enabled", what)
	}
	ts, err := strconv.ParseInt(c.Get(timestampHeader), 10, 64)
	bad := domain.Errorf(domain.CodeUnauthenticated, "missing, stale or wrong signature")
	if err != nil || math.Abs(float64(now().Unix()-ts)) > webhookSkew.Seconds() {
		return bad
	}
	if !hmac.Equal([]byte(c.Get(signatureHeader)), []byte(SignPortalRequest(secret, ts, c.Body()))) {
		return bad
	}
	return nil
}

type paymentCallbackBody struct {
	TransactionID string    `json:"transaction_id"`
	Reference     string    `json:"reference"`
	AmountVND     int64     `json:"amount_vnd" bound:"-int8..int8" column:"payments.amount_vnd"`
	PaidAt        time.Time `json:"paid_at"`
}

// mountPayments serves the bank's signed callback (X-Gateway-Timestamp and
// X-Gateway-Signature, the portals' scheme under PAYMENT_GATEWAY_SECRET), the same report
// from a bank's client with payments:report, and a dossier's payments.
func mountPayments(rt *router, svc *payment.Service, secret []byte, now func() time.Time) {
	rt.post("/payments/callback", public, func(c *fiber.Ctx) error {
		if err := verifySigned(c, secret, now, "X-Gateway-Timestamp", "X-Gateway-Signature", "payment callback (PAYMENT_GATEWAY_SECRET)"); err != nil {
			return err
		}
		return receivePayment(c, svc)
	})
	rt.post("/payments", partners(auth.ScopePaymentsReport), func(c *fiber.Ctx) error { return receivePayment(c, svc) })
	remittanceRoute(rt, svc)
	rt.get("/dossiers/:key/payments", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk, auth.RoleCourier),
		byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
			list, err := svc.Payments(c.UserContext(), id)
			if err != nil {
				return err
			}
			out := make([]fiber.Map, len(list))
			for i, p := range list {
				out[i] = paymentDTO(p)
			}
			return c.JSON(fiber.Map{"items": out})
		}))
}

type remittanceLineDTO struct {
	DossierID    string `json:"dossier_id"`
	ReceiptCode  string `json:"receipt_code"`
	FeeVND       int64  `json:"fee_vnd"`
	PostageVND   int64  `json:"postage_vnd"`
	SurchargeVND int64  `json:"surcharge_vnd"`
	ReceivedVND  int64  `json:"received_vnd"`
	AgencyVND    int64  `json:"agency_vnd"`
	RefundVND    int64  `json:"refund_vnd"`
}

// receivePayment records the transfer a bank reports, signed or with its client's token:
// 201 when recorded, 200 with the payment already recorded under its transaction id.
func receivePayment(c *fiber.Ctx, svc *payment.Service) error {
	var body paymentCallbackBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	p, recorded, err := svc.Receive(c.UserContext(), payment.Callback{TransactionID: body.TransactionID, Reference: body.Reference,
		AmountVND: body.AmountVND, PaidAt: body.PaidAt})
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if recorded {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(paymentDTO(p))
}

// remittanceRoute serves an agency's remittance report: the fees the post collected on its
// behalf in [from, to), days in Vietnam time (to excluded).
func remittanceRoute(rt *router, svc *payment.Service) {
	rt.get("/agencies/:key/remittance", staff(auth.RoleAdmin, auth.RoleClerk), byID("agency", func(c *fiber.Ctx, id uuid.UUID) error {
		var p domain.Problems
		from, to := queryDate(c, &p, "from"), queryDate(c, &p, "to")
		p.Check(c.Query("from") != "", "from", "is required, as YYYY-MM-DD")
		p.Check(c.Query("to") != "", "to", "is required, as YYYY-MM-DD (the day after the last)")
		if err := p.Err(); err != nil {
			return err
		}
		local := func(d time.Time) time.Time {
			return domain.Midnight(d)
		}
		r, err := svc.Remittance(c.UserContext(), id, local(from), local(to))
		if err != nil {
			return err
		}
		lines := make([]remittanceLineDTO, len(r.Lines))
		for i, l := range r.Lines {
			lines[i] = remittanceLineDTO{DossierID: l.DossierID.String(), ReceiptCode: l.Receipt, FeeVND: l.FeeVND, PostageVND: l.PostageVND,
				SurchargeVND: l.SurchargeVND, ReceivedVND: l.ReceivedVND, AgencyVND: l.AgencyVND, RefundVND: l.RefundVND}
		}
		file := "remittance-" + id.String() + "-" + from.Format(dateLayout) + "-" + to.Format(dateLayout) + ".csv"
		return answerRows(c, file, lines, func() error {
			return c.JSON(fiber.Map{"agency_id": id.String(), "from": from.Format(dateLayout), "to": to.Format(dateLayout),
				"received_vnd": r.ReceivedVND, "agency_vnd": r.AgencyVND, "refund_vnd": r.RefundVND, "items": lines})
		})
	}))
}

func paymentDTO(p payment.Payment) fiber.Map {
	return fiber.Map{"id": p.ID.String(), "dossier_id": p.DossierID.String(), "transaction_id": p.TransactionID, "amount_vnd": p.AmountVND,
		"paid_at": p.PaidAt, "received_at": p.ReceivedAt}
}

type portalResultBody struct {
	PortalRef string `json:"portal_ref"`
}

func mountWebhooks(rt *router, svc *dossier.Service, secret []byte, now func() time.Time) {
	// The agency's result is ready, as the portal reports it: signed like a new dossier.
	rt.post("/webhooks/portal/results", public, func(c *fiber.Ctx) error {
		if err := verifyPortal(c, secret, now); err != nil {
			return err
		}
		var body portalResultBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		d, err := svc.ResultFromPortal(c.UserContext(), body.PortalRef)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"id": d.ID.String(), "receipt_code": d.Receipt.String(), "state": d.State, "portal_ref": d.PortalRef})
	})
	rt.post("/webhooks/portal/dossiers", public, func(c *fiber.Ctx) error {
		if err := verifyPortal(c, secret, now); err != nil {
			return err
		}
		var body portalDossierBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		in := dossier.PortalDossier{ProcedureCode: body.ProcedureCode, AgencyCode: body.AgencyCode,
			NewDossier: dossier.NewDossier{PostOfficeID: optionalID(&p, "post_office_id", body.PostOfficeID), Pickup: body.Pickup,
				Return: body.Return, Payment: dossier.PaymentMethod(body.PaymentMethod), PortalRef: body.PortalRef,
				Applicant: dossier.Applicant{Name: body.Applicant.Name, Phone: body.Applicant.Phone, CitizenID: body.Applicant.CitizenID,
					Address: body.Applicant.Address, AdminUnitCode: body.Applicant.AdminUnitCode,
					Location: fromPointDTO(&p, "applicant.location", body.Applicant.Location)}}}
		if err := p.Err(); err != nil {
			return err
		}
		d, created, err := svc.CreateFromPortal(c.UserContext(), in)
		if err != nil {
			return err
		}
		status := fiber.StatusOK
		if created {
			status = fiber.StatusCreated
		}
		return c.Status(status).JSON(fiber.Map{"id": d.ID.String(), "receipt_code": d.Receipt.String(), "state": d.State,
			"portal_ref": d.PortalRef, "outside_service_area": d.OutsideServiceArea})
	})
}

type subscriberBody struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Secret   string   `json:"secret"`
	AgencyID string   `json:"agency_id"`
	Events   []string `json:"events"`
}

type deliveryDTO struct {
	ID          string     `json:"id"`
	DossierID   string     `json:"dossier_id"`
	Event       string     `json:"event"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

type subscriberDTO struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	AgencyID  string    `json:"agency_id,omitempty"`
	ClientID  string    `json:"client_id,omitempty"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// toSubscriberDTO never shows the secret.
func toSubscriberDTO(s webhook.Subscriber) subscriberDTO {
	d := subscriberDTO{ID: s.ID.String(), Name: s.Name, URL: s.URL, AgencyID: idText(s.AgencyID), ClientID: idText(s.ClientID),
		Events: make([]string, len(s.Events)), Active: s.Active, CreatedAt: s.CreatedAt}
	for i, e := range s.Events {
		d.Events[i] = string(e)
	}
	return d
}

// mountSubscribers lets admins register agencies' and portals' endpoints and read their
// delivery logs, and a partner's client with webhooks:manage its own.
func mountSubscribers(rt *router, svc *webhook.Service) {
	managers := staff(auth.RoleAdmin).orPartner(auth.ScopeWebhooksManage)
	rt.post("/webhooks/subscribers", managers, func(c *fiber.Ctx) error {
		var body subscriberBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		sub := webhook.Subscriber{Name: body.Name, URL: body.URL, Secret: body.Secret, AgencyID: optionalID(&p, "agency_id", body.AgencyID)}
		for _, e := range body.Events {
			sub.Events = append(sub.Events, dossier.Event(e))
		}
		if err := p.Err(); err != nil {
			return err
		}
		created, err := svc.CreateSubscriber(c.UserContext(), sub)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toSubscriberDTO(created))
	})
	rt.get("/webhooks/subscribers", managers, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.Subscribers(c.UserContext(), page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, toSubscriberDTO))
	})
	rt.post("/webhooks/subscribers/:key/deactivate", managers, byID("webhook subscriber", func(c *fiber.Ctx, id uuid.UUID) error {
		sub, err := svc.Deactivate(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toSubscriberDTO(sub))
	}))
	rt.get("/webhooks/subscribers/:key/deliveries", managers, byID("webhook subscriber", func(c *fiber.Ctx, id uuid.UUID) error {
		var p domain.Problems
		page := queryPage(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.Deliveries(c.UserContext(), id, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, func(d webhook.Delivery) deliveryDTO {
			return deliveryDTO{ID: d.ID.String(), DossierID: d.DossierID.String(), Event: string(d.Event), Status: string(d.Status),
				Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt}
		}))
	}))
}

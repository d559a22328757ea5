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

type newPortalDossierBody struct {
	PortalRef     string       `json:"portal_ref" example:"DVC-2026-000123" doc:"the portal's own reference: a dossier sent again is answered as it is, not opened twice"`
	ProcedureCode string       `json:"procedure_code" example:"1.001234"`
	AgencyCode    string       `json:"agency_code" example:"UBND-PCN"`
	PostOfficeID  string       `json:"post_office_id" optional:"true" doc:"the post office serving the dossier; the one whose area holds the applicant's location when absent" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
	Applicant     applicantDTO `json:"applicant"`
	Pickup        bool         `json:"pickup" optional:"true" example:"true"`
	Return        bool         `json:"return" optional:"true" example:"true"`
	PaymentMethod string       `json:"payment_method" optional:"true" enum:"cash_to_courier,vietqr,online,at_counter,nothing_due" example:"online"`
}

// portalDossierDTO is what a portal is told of its dossier.
type portalDossierDTO struct {
	ID                 string `json:"id" example:"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"`
	ReceiptCode        string `json:"receipt_code" example:"7K3M-9QX2-D"`
	State              string `json:"state" example:"requested"`
	PortalRef          string `json:"portal_ref" example:"DVC-2026-000123"`
	OutsideServiceArea *bool  `json:"outside_service_area,omitempty" doc:"the applicant lives outside the post office's area (on opening only)"`
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
	TransactionID string    `json:"transaction_id" example:"FT26342123456789" doc:"the bank's reference: a report of it again is the same payment"`
	Reference     string    `json:"reference" example:"HS 7K3M9QX2D" doc:"the transfer's content, which holds the receipt code"`
	AmountVND     int64     `json:"amount_vnd" bound:"-int8..int8" column:"payments.amount_vnd" example:"87000"`
	PaidAt        time.Time `json:"paid_at"`
}

// paymentDTO is a payment received for a dossier.
type paymentDTO struct {
	ID            string    `json:"id"`
	DossierID     string    `json:"dossier_id"`
	TransactionID string    `json:"transaction_id" example:"FT26342123456789"`
	AmountVND     int64     `json:"amount_vnd" example:"87000"`
	PaidAt        time.Time `json:"paid_at"`
	ReceivedAt    time.Time `json:"received_at"`
}

// remittanceLineDTO is one dossier's share of a remittance.
type remittanceLineDTO struct {
	DossierID    string `json:"dossier_id"`
	ReceiptCode  string `json:"receipt_code" example:"7K3M-9QX2-D"`
	FeeVND       int64  `json:"fee_vnd" example:"50000"`
	PostageVND   int64  `json:"postage_vnd" example:"32000"`
	SurchargeVND int64  `json:"surcharge_vnd" example:"5000"`
	ReceivedVND  int64  `json:"received_vnd" example:"87000"`
	AgencyVND    int64  `json:"agency_vnd" example:"50000" doc:"what the post owes the agency of it"`
	RefundVND    int64  `json:"refund_vnd" example:"0" doc:"what was paid beyond what was due, to give back"`
	RemittedVND  int64  `json:"remitted_vnd" example:"0" doc:"of agency_vnd, what remittances settled already"`
	OwedVND      int64  `json:"owed_vnd" example:"50000" doc:"what is still to remit to the agency for it"`
}

// remittanceDTO is what the post collected on an agency's behalf in [from, to).
type remittanceDTO struct {
	AgencyID    string              `json:"agency_id"`
	From        string              `json:"from" format:"date" example:"2026-11-01"`
	To          string              `json:"to" format:"date" example:"2026-12-01" doc:"the day after the last"`
	ReceivedVND int64               `json:"received_vnd" example:"870000"`
	AgencyVND   int64               `json:"agency_vnd" example:"500000"`
	RefundVND   int64               `json:"refund_vnd" sum:"true" example:"0"`
	RemittedVND int64               `json:"remitted_vnd" example:"0"`
	OwedVND     int64               `json:"owed_vnd" example:"500000"`
	Items       []remittanceLineDTO `json:"items"`
}

// remittanceRequestBody is a transfer to an agency an admin records.
type remittanceRequestBody struct {
	From          string   `json:"from" format:"date" example:"2026-11-01"`
	To            string   `json:"to" format:"date" example:"2026-12-01" doc:"the day after the last"`
	RemittedVND   int64    `json:"remitted_vnd" bound:"-int8..int8" column:"remittances.remitted_vnd" example:"500000" doc:"the amount transferred: the owed_vnd of the lines it settles"`
	BankReference string   `json:"bank_reference" example:"FT26335812345" doc:"the bank's reference of the transfer, once per agency"`
	DossierIDs    []string `json:"dossier_ids,omitempty" doc:"the lines it settles; every line with something owed when absent"`
}

// remittedShareDTO is the agency's share of one receipt, settled by a remittance.
type remittedShareDTO struct {
	DossierID string `json:"dossier_id"`
	ReceiptID string `json:"receipt_id" doc:"the courier's cash line (its mutation id) or the bank's transfer (its payment id)"`
	Kind      string `json:"kind" enum:"cash_line,bank_transfer"`
	AgencyVND int64  `json:"agency_vnd" example:"50000"`
}

// remittedDTO is a recorded transfer to an agency.
type remittedDTO struct {
	ID            string             `json:"id"`
	AgencyID      string             `json:"agency_id"`
	From          string             `json:"from" format:"date" example:"2026-11-01"`
	To            string             `json:"to" format:"date" example:"2026-12-01"`
	RemittedVND   int64              `json:"remitted_vnd" example:"500000"`
	BankReference string             `json:"bank_reference" example:"FT26335812345"`
	RecordedBy    string             `json:"recorded_by"`
	RemittedAt    time.Time          `json:"remitted_at"`
	Items         []remittedShareDTO `json:"items"`
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
	}).doc("The bank reports a transfer (signed: X-Gateway-Timestamp, X-Gateway-Signature); 201 when recorded, 200 when reported before").
		takes(paymentCallbackBody{}).answers(fiber.StatusCreated, paymentDTO{}).answers(fiber.StatusOK, paymentDTO{}).
		fails(domain.CodeUnauthenticated, domain.CodeNotFound, domain.CodeConflict, payment.CodeAlreadyPaid, payment.CodeAmountMismatch)
	rt.post("/payments", partners(auth.ScopePaymentsReport), func(c *fiber.Ctx) error { return receivePayment(c, svc) }).
		doc("A bank's client reports a transfer it received for its agency's dossier; 201 when recorded, 200 when reported before").
		takes(paymentCallbackBody{}).answers(fiber.StatusCreated, paymentDTO{}).answers(fiber.StatusOK, paymentDTO{}).
		fails(domain.CodeNotFound, domain.CodeConflict, payment.CodeAlreadyPaid, payment.CodeAmountMismatch)
	remittanceRoute(rt, svc)
	rt.get("/dossiers/:key/payments", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk, auth.RoleCourier),
		byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
			list, err := svc.Payments(c.UserContext(), id)
			if err != nil {
				return err
			}
			out := make([]paymentDTO, len(list))
			for i, p := range list {
				out[i] = toPaymentDTO(p)
			}
			return c.JSON(itemsBody[paymentDTO]{Items: out})
		})).doc("The payments received for a dossier").answers(fiber.StatusOK, itemsBody[paymentDTO]{})
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
	return c.Status(status).JSON(toPaymentDTO(p))
}

// remittanceRoute serves an agency's remittance report: the fees the post collected on its
// behalf in [from, to), days in Vietnam time (to excluded).
func remittanceRoute(rt *router, svc *payment.Service) {
	rt.get("/agencies/:key/remittance", staff(auth.RoleAdmin, auth.RoleClerk), byID("agency", func(c *fiber.Ctx, id uuid.UUID) error {
		var p domain.Problems
		from, to := queryPeriod(c, &p)
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
				SurchargeVND: l.SurchargeVND, ReceivedVND: l.ReceivedVND, AgencyVND: l.AgencyVND, RefundVND: l.RefundVND,
				RemittedVND: l.RemittedVND, OwedVND: l.OwedVND}
		}
		file := "remittance-" + id.String() + "-" + from.Format(dateLayout) + "-" + to.Format(dateLayout) + ".csv"
		return answerRows(c, file, lines, func() error {
			return c.JSON(remittanceDTO{AgencyID: id.String(), From: from.Format(dateLayout), To: to.Format(dateLayout),
				ReceivedVND: r.ReceivedVND, AgencyVND: r.AgencyVND, RefundVND: r.RefundVND, RemittedVND: r.RemittedVND, OwedVND: r.OwedVND, Items: lines})
		})
	})).doc("An agency's remittance report: the fees the post collected on its behalf in [from, to)").
		params(dateParam("from", "the first day (required)"), dateParam("to", "the day after the last (required; at most 93 days after from)")).
		answers(fiber.StatusOK, remittanceDTO{}).alsoAnswers(mimeCSV)
	rt.post("/agencies/:key/remittances", staff(auth.RoleAdmin), byID("agency", func(c *fiber.Ctx, id uuid.UUID) error {
		var body remittanceRequestBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		req := payment.RemittanceRequest{From: domain.Midnight(parseDate(&p, "from", body.From)), To: domain.Midnight(parseDate(&p, "to", body.To)),
			RemittedVND: body.RemittedVND, BankReference: body.BankReference}
		for _, raw := range body.DossierIDs {
			d, err := uuid.Parse(raw)
			p.Check(err == nil, "dossier_ids", "must be dossier ids")
			req.DossierIDs = append(req.DossierIDs, d)
		}
		if err := p.Err(); err != nil {
			return err
		}
		r, err := svc.Remit(c.UserContext(), id, req)
		if err != nil {
			return err
		}
		out := remittedDTO{ID: r.ID.String(), AgencyID: id.String(), From: body.From, To: body.To, RemittedVND: r.RemittedVND,
			BankReference: r.BankReference, RecordedBy: r.RecordedBy.String(), RemittedAt: r.RemittedAt, Items: make([]remittedShareDTO, len(r.Settled))}
		for i, st := range r.Settled {
			out.Items[i] = remittedShareDTO{DossierID: st.DossierID.String(), ReceiptID: st.Receipt.ID.String(), Kind: "cash_line", AgencyVND: *st.Receipt.RemittedVND}
			if st.Receipt.Bank {
				out.Items[i].Kind = "bank_transfer"
			}
		}
		return c.Status(fiber.StatusCreated).JSON(out)
	})).doc("Record a transfer to an agency settling its remittance report's lines for [from, to): each receipt's share is remitted once").
		takes(remittanceRequestBody{}).answers(fiber.StatusCreated, remittedDTO{}).
		fails(domain.CodeNotFound, domain.CodeConflict, payment.CodeAlreadyRemitted, payment.CodeAmountMismatch)
}

func toPaymentDTO(p payment.Payment) paymentDTO {
	return paymentDTO{ID: p.ID.String(), DossierID: p.DossierID.String(), TransactionID: p.TransactionID, AmountVND: p.AmountVND,
		PaidAt: p.PaidAt, ReceivedAt: p.ReceivedAt}
}

type portalResultBody struct {
	PortalRef string `json:"portal_ref" example:"DVC-2026-000123"`
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
		return c.JSON(portalDossierDTO{ID: d.ID.String(), ReceiptCode: d.Receipt.String(), State: string(d.State), PortalRef: d.PortalRef})
	}).doc("A portal reports that the agency's result is ready (signed: X-Portal-Timestamp, X-Portal-Signature)").
		takes(portalResultBody{}).answers(fiber.StatusOK, portalDossierDTO{}).
		fails(domain.CodeUnauthenticated, domain.CodeNotFound, dossier.CodeInvalidTransition, domain.CodeVersionConflict)
	rt.post("/webhooks/portal/dossiers", public, func(c *fiber.Ctx) error {
		if err := verifyPortal(c, secret, now); err != nil {
			return err
		}
		var body newPortalDossierBody
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
		return c.Status(status).JSON(portalDossierDTO{ID: d.ID.String(), ReceiptCode: d.Receipt.String(), State: string(d.State),
			PortalRef: d.PortalRef, OutsideServiceArea: &d.OutsideServiceArea})
	}).doc("A portal sends a dossier to open (signed: X-Portal-Timestamp, X-Portal-Signature); 201 when opened, 200 when sent before").
		takes(newPortalDossierBody{}).answers(fiber.StatusCreated, portalDossierDTO{}).answers(fiber.StatusOK, portalDossierDTO{}).
		fails(domain.CodeUnauthenticated, domain.CodeNotFound, domain.CodeConflict)
}

type newSubscriberBody struct {
	Name     string   `json:"name" example:"Cổng dịch vụ công Hà Nội"`
	URL      string   `json:"url" example:"https://portal.example.vn/courierd/events"`
	Secret   string   `json:"secret" doc:"32 to 200 characters shared with the subscriber: deliveries are signed with it"`
	AgencyID string   `json:"agency_id" optional:"true" doc:"only this agency's dossiers' events; all when absent"`
	Events   []string `json:"events" optional:"true" doc:"the dossier events to deliver; all when absent"`
}

type deliveryDTO struct {
	ID          string     `json:"id"`
	DossierID   string     `json:"dossier_id"`
	Event       string     `json:"event" example:"result_ready"`
	Status      string     `json:"status" example:"delivered"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// subscriberDTO is a registered webhook subscriber (its secret is never shown).
type subscriberDTO struct {
	ID        string    `json:"id"`
	Name      string    `json:"name" example:"Cổng dịch vụ công Hà Nội"`
	URL       string    `json:"url" example:"https://portal.example.vn/courierd/events"`
	AgencyID  string    `json:"agency_id,omitempty"`
	ClientID  string    `json:"client_id,omitempty"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active" example:"true"`
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
		var body newSubscriberBody
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
	}).doc("Register an endpoint to receive dossier events (signed deliveries, retried until they land)").
		takes(newSubscriberBody{}).answers(fiber.StatusCreated, subscriberDTO{})
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
	}).doc("List webhook subscribers (a partner's own only)").params(paging...).answers(fiber.StatusOK, listBody[subscriberDTO]{})
	rt.post("/webhooks/subscribers/:key/deactivate", managers, byID("webhook subscriber", func(c *fiber.Ctx, id uuid.UUID) error {
		sub, err := svc.Deactivate(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toSubscriberDTO(sub))
	})).doc("Stop a webhook subscriber: no more deliveries (again: the same answer)").answers(fiber.StatusOK, subscriberDTO{})
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
	})).doc("A subscriber's deliveries and how their attempts went").params(paging...).
		answers(fiber.StatusOK, listBody[deliveryDTO]{})
}

package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"courierd/api"
	"courierd/domain"
	"courierd/domain/payment"
)

// TestPaymentCallback: the bank reports a VietQR transfer for a dossier, signed; the
// exact amount is recorded once however often the bank repeats it; a second transfer for
// the paid dossier, a wrong amount, a paid_at in the future or before the dossier, a
// reference without a receipt code, a bad or stale signature record nothing.
func TestPaymentCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	created := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil))
	id, receipt := created.body["id"].(string), created.body["receipt_code"].(string)
	due := int64(created.body["due_vnd"].(float64))
	call := func(body string, at time.Time, secret string) reply {
		req := httptest.NewRequest(http.MethodPost, "/v1/payments/callback", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gateway-Timestamp", fmt.Sprint(at.Unix()))
		req.Header.Set("X-Gateway-Signature", api.SignPortalRequest([]byte(secret), at.Unix(), []byte(body)))
		return h.as("").send(t, req)
	}
	now := time.Now()
	transfer := func(txn, reference string, amount int64) string {
		return fmt.Sprintf(`{"transaction_id":%q,"reference":%q,"amount_vnd":%d,"paid_at":%q}`, txn, reference, amount, now.UTC().Format(time.RFC3339))
	}
	// paid_at in the future or before the dossier existed (beyond the clocks' skew) is refused.
	for _, at := range []time.Time{now.Add(payment.PaidAtSkew + time.Minute), now.Add(-payment.PaidAtSkew - time.Hour),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		body := fmt.Sprintf(`{"transaction_id":"FT-WHEN","reference":%q,"amount_vnd":%d,"paid_at":%q}`, receipt, due, at.Format(time.RFC3339))
		wantProblem(t, call(body, now, paymentSecret), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "paid_at")
	}
	// Banks pass the content on in capitals, the code without its dashes, words around it.
	first := call(transfer("FT2632800001", "THANH TOAN HS "+strings.ReplaceAll(receipt, "-", ""), due), now, paymentSecret)
	if first.status != http.StatusCreated || first.body["dossier_id"] != id || first.body["amount_vnd"] != float64(due) {
		t.Fatalf("callback: %d %s", first.status, first.raw)
	}
	again := call(transfer("FT2632800001", "THANH TOAN HS "+receipt, due), now.Add(time.Second), paymentSecret)
	if again.status != http.StatusOK || again.body["id"] != first.body["id"] {
		t.Fatalf("a repeated callback: %d %s", again.status, again.raw)
	}
	wantProblem(t, call(transfer("FT2632800001", receipt, due+1), now, paymentSecret), http.StatusConflict, "CONFLICT")
	// Paid in full: another transfer, of any amount, is refused and not credited.
	wantProblem(t, call(transfer("FT2632800002", receipt, due), now, paymentSecret), http.StatusConflict, "ALREADY_PAID")
	unpaid := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["receipt_code"].(string)
	wantProblem(t, call(transfer("FT2632800002", unpaid, due-1000), now, paymentSecret), http.StatusUnprocessableEntity, "AMOUNT_MISMATCH")
	wantProblem(t, call(transfer("FT2632800003", "CHUYEN TIEN", due), now, paymentSecret), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "reference")
	wantProblem(t, call(transfer("FT2632800004", receipt, due), now, "not the gateway's secret at all"), http.StatusUnauthorized, "UNAUTHENTICATED")
	wantProblem(t, call(transfer("FT2632800005", receipt, due), now.Add(-10*time.Minute), paymentSecret), http.StatusUnauthorized, "UNAUTHENTICATED")

	payments := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/payments", "")
	if items := payments.body["items"].([]any); payments.status != http.StatusOK || len(items) != 1 {
		t.Fatalf("the dossier's payments: %d %s", payments.status, payments.raw)
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/dossiers/"+id+"/payments", ""), http.StatusNotFound, "NOT_FOUND")

	// The agency's remittance for the day of the transfer: its fee, out of what was paid.
	agency := h.agency("Sở Tư pháp").ID.String()
	today := now.In(domain.Vietnam)
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	report := h.as("clerk").do(t, http.MethodGet, "/v1/agencies/"+agency+"/remittance?from="+day(0)+"&to="+day(1), "")
	fee, surcharge := created.body["fee_vnd"].(float64), created.body["surcharge_vnd"].(float64)
	if surcharge == 0 || float64(due) != fee+created.body["postage_vnd"].(float64)+surcharge {
		t.Fatalf("the amount due is the fee, postage and collection surcharge: %s", created.raw)
	}
	if report.status != http.StatusOK || report.body["received_vnd"] != float64(due) || report.body["agency_vnd"] != fee ||
		len(report.body["items"].([]any)) != 1 || report.body["items"].([]any)[0].(map[string]any)["surcharge_vnd"] != surcharge {
		t.Fatalf("remittance: %d %s", report.status, report.raw)
	}
	if empty := h.do(t, http.MethodGet, "/v1/agencies/"+agency+"/remittance?from="+day(1)+"&to="+day(2), ""); empty.body["received_vnd"] != float64(0) {
		t.Fatalf("the next day: %s", empty.raw)
	}
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/agencies/"+agency+"/remittance?from="+day(0)+"&to="+day(1), ""), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.as("clerk").do(t, http.MethodGet, "/v1/agencies/"+agency+"/remittance?from="+day(0), ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "to")
}

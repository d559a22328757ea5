package payment_test

import (
	"strings"
	"testing"

	"courierd/domain"
	"courierd/domain/payment"
)

// Published example payloads (from the tests of giautm/emvqr-go, an open-source EMVCo
// encoder): two VietQR transfers to account 113366668888 at BIN 970415, their objects in
// different orders, and a VNPay merchant code (not a NAPAS transfer).
const (
	publishedWithReference = "00020101021262110807tien le38560010A0000007270126000697041501121133666688880208QRIBFTTA5303704540460005802VN63046893"
	publishedAmountFirst   = "00020101021138560010A0000007270126000697041501121133666688880208QRIBFTTA54057000153037045802VN6304ED54"
	publishedMerchant      = "00020101021126280010A000000775011001064159995204829953037045802VN5913123VIETNAMESE6005HANOI610610000062290313G7AUTO03 SAPO0708G7AUTO04630458BA"
)

func TestCRC16(t *testing.T) {
	// The catalogue's check value of CRC-16/CCITT-FALSE.
	if got := payment.CRC16("123456789"); got != 0x29B1 {
		t.Fatalf("CRC16(123456789) = %04X, want 29B1", got)
	}
	for _, p := range []string{publishedWithReference, publishedAmountFirst, publishedMerchant} {
		if got, want := payment.CRC16(p[:len(p)-4]), p[len(p)-4:]; hex4(got) != want {
			t.Errorf("CRC of %s… = %s, published %s", p[:20], hex4(got), want)
		}
	}
}

func hex4(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

func TestParsePublished(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    payment.Transfer
	}{
		{publishedWithReference, payment.Transfer{BankBIN: "970415", Account: "113366668888", AmountVND: 6000, Reference: "tien le"}},
		{publishedAmountFirst, payment.Transfer{BankBIN: "970415", Account: "113366668888", AmountVND: 70001}},
	} {
		got, err := payment.Parse(tc.payload)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%s…) = %+v, %v; want %+v", tc.payload[:20], got, err, tc.want)
		}
	}
	// A merchant code of another scheme, and a published code with one character changed.
	for _, bad := range []string{publishedMerchant, strings.Replace(publishedWithReference, "tien le", "tien la", 1), "", "6304", "0002016304FFFF"} {
		if _, err := payment.Parse(bad); domain.ErrorCode(err) != payment.CodeBadQR {
			t.Errorf("Parse(%q) = %v, want %s", bad, err, payment.CodeBadQR)
		}
	}
}

func TestPayload(t *testing.T) {
	fee := payment.Transfer{BankBIN: "970415", Account: "113366668888", AmountVND: 115000, Reference: "HS 2TBG-SCBR-G"}
	p, err := fee.Payload()
	if err != nil {
		t.Fatal(err)
	}
	// The objects in the order of their ids, the dynamic point of initiation for an
	// amount, and the CRC over all before it.
	want := "000201" + "010212" + "38560010A0000007270126000697041501121133666688880208QRIBFTTA" + "5303704" + "5406115000" +
		"5802VN" + "62180814HS 2TBG-SCBR-G" + "6304"
	if !strings.HasPrefix(p, want) || len(p) != len(want)+4 || p[len(want):] != hex4(payment.CRC16(want)) {
		t.Fatalf("payload\n%s\nwant\n%s + CRC", p, want)
	}
	if back, err := payment.Parse(p); err != nil || back != fee {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	// Without an amount the code is static and the payer types it; to a card, QRIBFTTC.
	static, _ := payment.Transfer{BankBIN: "970436", Account: "9704366614952006", ToCard: true}.Payload()
	if !strings.HasPrefix(static, "000201010211") || !strings.Contains(static, "QRIBFTTC") || strings.Contains(static, "5406") {
		t.Fatalf("static card code: %s", static)
	}

	for _, bad := range []struct {
		t     payment.Transfer
		field string
	}{
		{payment.Transfer{BankBIN: "97041", Account: "1"}, "bank_bin"},
		{payment.Transfer{BankBIN: "970415", Account: "12345678901234567890"}, "account"},
		{payment.Transfer{BankBIN: "970415", Account: "1", AmountVND: -1}, "amount_vnd"},
		{payment.Transfer{BankBIN: "970415", Account: "1", Reference: "Hồ sơ"}, "reference"},
	} {
		_, err := bad.t.Payload()
		e, ok := domain.AsError(err)
		if !ok || e.Code != domain.CodeValidationFailed || len(e.Fields) != 1 || e.Fields[0].Field != bad.field {
			t.Errorf("%+v: %v, want a fault in %s", bad.t, err, bad.field)
		}
	}
}

// FuzzParse: no input makes Parse panic, and whatever it accepts encodes back to a code
// that parses to the same transfer.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{publishedWithReference, publishedAmountFirst, publishedMerchant, "", "6304ABCD"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		got, err := payment.Parse(payload)
		if err != nil {
			if domain.ErrorCode(err) != payment.CodeBadQR {
				t.Fatalf("an error without its code: %v", err)
			}
			return
		}
		again, err := got.Payload()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %+v: %v", payload, got, err)
		}
		if back, err := payment.Parse(again); err != nil || back != got {
			t.Fatalf("%+v encodes to %q, which parses to %+v, %v", got, again, back, err)
		}
	})
}

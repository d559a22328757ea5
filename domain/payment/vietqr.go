// Package payment is how citizens pay fees without cash: the VietQR payload (NAPAS's
// EMVCo merchant-presented QR) for a bank transfer of the exact amount with a reference that
// names the dossier.
//
// Imports allowed: the standard library, courierd/domain and its dossier and auth
// packages, uuid.
package payment

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"courierd/domain"
	"courierd/domain/dossier"
)

// CodeBadQR: a QR payload that is not a well-formed VietQR transfer.
const CodeBadQR domain.Code = "BAD_QR_PAYLOAD"

// Service codes of a VietQR transfer: to a bank account, or to a card number.
const (
	serviceToAccount = "QRIBFTTA"
	serviceToCard    = "QRIBFTTC"
	napasGUID        = "A000000727"
)

// Transfer is a bank transfer asked for by a VietQR code.
type Transfer struct {
	BankBIN   string // the beneficiary bank's six-digit NAPAS BIN, e.g. 970415
	Account   string // the account number, or the card number when ToCard
	ToCard    bool
	AmountVND int64  // 0: the payer types the amount (a static code)
	Reference string // shown to the payer and sent with the transfer: the receipt code
}

var (
	binShape       = regexp.MustCompile(`^[0-9]{6}$`)
	accountShape   = regexp.MustCompile(`^[0-9A-Za-z]{1,19}$`)
	referenceShape = regexp.MustCompile(`^[ -~]{0,25}$`) // printable ASCII: banks drop diacritics anyway
)

func (t Transfer) validate() error {
	var p domain.Problems
	p.Check(binShape.MatchString(t.BankBIN), "bank_bin", "must be the bank's six-digit NAPAS BIN")
	p.Check(accountShape.MatchString(t.Account), "account", "must be 1 to 19 letters or digits")
	p.Check(t.AmountVND >= 0 && t.AmountVND <= 9_999_999_999_999, "amount_vnd", "must be a whole number of dong, at most 13 digits")
	p.Check(referenceShape.MatchString(t.Reference), "reference", "must be at most 25 printable ASCII characters")
	return p.Err()
}

// tlv is one EMVCo data object: a two-digit id, a two-digit length, the value.
func tlv(id, value string) string { return fmt.Sprintf("%s%02d%s", id, len(value), value) }

// Payload is the text a VietQR code carries: the data objects in the order of their ids,
// then the CRC over everything before it (its own id and length included). With an amount
// the code is dynamic (point of initiation 12): the payer's app fills the amount and the
// reference and does not let them be changed.
func (t Transfer) Payload() (string, error) {
	if err := t.validate(); err != nil {
		return "", err
	}
	service, initiation := serviceToAccount, "11"
	if t.ToCard {
		service = serviceToCard
	}
	if t.AmountVND > 0 {
		initiation = "12"
	}
	var b strings.Builder
	b.WriteString(tlv("00", "01"))
	b.WriteString(tlv("01", initiation))
	b.WriteString(tlv("38", tlv("00", napasGUID)+tlv("01", tlv("00", t.BankBIN)+tlv("01", t.Account))+tlv("02", service)))
	b.WriteString(tlv("53", "704"))
	if t.AmountVND > 0 {
		b.WriteString(tlv("54", strconv.FormatInt(t.AmountVND, 10)))
	}
	b.WriteString(tlv("58", "VN"))
	if t.Reference != "" {
		b.WriteString(tlv("62", tlv("08", t.Reference)))
	}
	b.WriteString("6304")
	return b.String() + fmt.Sprintf("%04X", CRC16(b.String())), nil
}

// CRC16 is the EMVCo checksum: CRC-16/CCITT-FALSE (polynomial 0x1021, initial value
// 0xFFFF, no reflection, no final XOR) over the bytes.
func CRC16(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// objects splits EMVCo data objects; ok is false when a length runs past the end.
func objects(s string) (map[string]string, bool) {
	out := map[string]string{}
	for len(s) > 0 {
		if len(s) < 4 {
			return nil, false
		}
		n, err := strconv.Atoi(s[2:4])
		if err != nil || n < 0 || len(s) < 4+n {
			return nil, false
		}
		out[s[:2]] = s[4 : 4+n]
		s = s[4+n:]
	}
	return out, true
}

// Parse reads a VietQR transfer code: the CRC must match and the transfer's objects be
// present, as a device scanning a citizen's code or a test of our own codes needs. Other
// objects (merchant name, city, bill number…) are allowed and ignored.
func Parse(payload string) (Transfer, error) {
	bad := func(why string) (Transfer, error) {
		return Transfer{}, domain.Errorf(CodeBadQR, "not a VietQR transfer code: %s", why)
	}
	if len(payload) < 8 || payload[len(payload)-8:len(payload)-4] != "6304" {
		return bad("it does not end with its CRC")
	}
	want, err := strconv.ParseUint(payload[len(payload)-4:], 16, 16)
	if err != nil || uint16(want) != CRC16(payload[:len(payload)-4]) {
		return bad("the CRC does not match")
	}
	top, ok := objects(payload[:len(payload)-8])
	if !ok || top["00"] != "01" {
		return bad("its data objects are malformed")
	}
	account, ok := objects(top["38"])
	if !ok || account["00"] != napasGUID || (account["02"] != serviceToAccount && account["02"] != serviceToCard) {
		return bad("it names no NAPAS transfer")
	}
	bank, ok := objects(account["01"])
	if !ok {
		return bad("its beneficiary is malformed")
	}
	t := Transfer{BankBIN: bank["00"], Account: bank["01"], ToCard: account["02"] == serviceToCard}
	if top["53"] != "704" || top["58"] != "VN" {
		return bad("it is not a transfer in Vietnamese dong")
	}
	if amount, ok := top["54"]; ok {
		// EMVCo allows a decimal point; dong have no minor unit.
		whole, _, _ := strings.Cut(amount, ".")
		if t.AmountVND, err = strconv.ParseInt(whole, 10, 64); err != nil || t.AmountVND < 0 {
			return bad("its amount is not a number")
		}
	}
	if extra, ok := objects(top["62"]); ok {
		t.Reference = extra["08"]
	}
	if err := t.validate(); err != nil {
		return bad(err.Error())
	}
	return t, nil
}

// Account is the post's collection account that applicants pay by VietQR.
type Account struct {
	BankBIN string
	Number  string
}

// CheckAccount checks an account's shape (an empty field: not configured, and fine).
func CheckAccount(a Account) error {
	if a.BankBIN == "" || a.Number == "" {
		return nil
	}
	return Transfer{BankBIN: a.BankBIN, Account: a.Number}.validate()
}

// Configured reports whether the account is set: without it no code is shown.
func (a Account) Configured() bool { return a.BankBIN != "" && a.Number != "" }

// QR is the VietQR payload for paying amount for the dossier with receipt into the
// account: the reference names the receipt code, which the bank's callback is matched by.
// Empty when there is nothing to pay or no account.
func (a Account) QR(receipt dossier.ReceiptCode, amountVND int64) (string, error) {
	if !a.Configured() || amountVND <= 0 {
		return "", nil
	}
	return Transfer{BankBIN: a.BankBIN, Account: a.Number, AmountVND: amountVND, Reference: "HS " + string(receipt)}.Payload()
}

package dossier

import (
	"fmt"
	"io"
	"strings"

	"courierd/domain"
)

// CodeBadReceiptCode is a receipt code that cannot be one: wrong length, a character not
// in the alphabet, or a check character that does not match (a typo).
const CodeBadReceiptCode domain.Code = "BAD_RECEIPT_CODE"

// receiptAlphabet is Crockford's base 32: digits and letters without I, L, O and U, so a
// code read over the phone or copied by hand has no look-alikes.
const receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// receiptBody is the number of random characters: 40 bits, a trillion codes, so guessing
// one is hopeless even before rate limits.
const receiptBody = 8

// ReceiptCode is a dossier's public reference, shown as XXXX-XXXX-C where C checks the
// other eight.
type ReceiptCode string

// NewReceiptCode draws a code from random.
func NewReceiptCode(random io.Reader) (ReceiptCode, error) {
	buf := make([]byte, receiptBody)
	if _, err := io.ReadFull(random, buf); err != nil {
		return "", fmt.Errorf("receipt code: %w", err)
	}
	body := make([]byte, receiptBody)
	for i, b := range buf {
		body[i] = receiptAlphabet[b%32] // 256 is a multiple of 32: no bias
	}
	return ReceiptCode(string(body) + string(checkChar(string(body)))), nil
}

// String is the display form, XXXX-XXXX-C.
func (c ReceiptCode) String() string {
	s := string(c)
	if len(s) != receiptBody+1 {
		return s
	}
	return s[:4] + "-" + s[4:8] + "-" + s[8:]
}

// receiptLookalikes drops separators and reads letters typed for the digits they look
// like; built once, since building a Replacer costs more than using it.
var receiptLookalikes = strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1")

// ParseReceiptCode reads a code as people type it: any case, with or without dashes and
// spaces, O for 0 and I or L for 1. A wrong check character is caught here, before any
// lookup.
func ParseReceiptCode(raw string) (ReceiptCode, error) {
	if len(raw) > 40 {
		return "", domain.Errorf(CodeBadReceiptCode, "a receipt code has 9 characters, such as 7K3M-9QX2-D")
	}
	s := receiptLookalikes.Replace(strings.ToUpper(raw))
	if len(s) != receiptBody+1 {
		return "", domain.Errorf(CodeBadReceiptCode, "a receipt code has 9 characters, such as 7K3M-9QX2-D")
	}
	for _, r := range s {
		if !strings.ContainsRune(receiptAlphabet, r) {
			return "", domain.Errorf(CodeBadReceiptCode, "%q is not a character of a receipt code", r)
		}
	}
	if checkChar(s[:receiptBody]) != s[receiptBody] {
		return "", domain.Errorf(CodeBadReceiptCode, "this receipt code has a typo; check it against the receipt")
	}
	return ReceiptCode(s), nil
}

// checkChar is the Luhn mod 32 check character of body: it catches every single wrong
// character and every swap of two neighbours but one, 0 with Z (the two weigh alike in
// Luhn mod N for N = 32), a known limit of the scheme.
func checkChar(body string) byte {
	factor, sum := 2, 0
	for i := len(body) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(receiptAlphabet, body[i])
		addend = addend/32 + addend%32
		sum += addend
		factor = 3 - factor
	}
	return receiptAlphabet[(32-sum%32)%32]
}

package dossier_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"courierd/domain"
	"courierd/domain/dossier"
)

// alphabet is Crockford's base 32, written out here so that a change to the package's
// alphabet (which would invalidate every printed receipt) fails the tests.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// randomCodes draws n codes from a seeded stream, so a failure can be replayed.
func randomCodes(t *testing.T, seed uint64, n int) []dossier.ReceiptCode {
	t.Helper()
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	codes := make([]dossier.ReceiptCode, n)
	for i := range codes {
		c, err := dossier.NewReceiptCode(r)
		if err != nil {
			t.Fatalf("NewReceiptCode: %v", err)
		}
		codes[i] = c
	}
	return codes
}

// codeFrom builds the code whose body is drawn from exactly these bytes.
func codeFrom(t *testing.T, b ...byte) dossier.ReceiptCode {
	t.Helper()
	c, err := dossier.NewReceiptCode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("NewReceiptCode(%v): %v", b, err)
	}
	return c
}

func wantBadCode(t *testing.T, raw string) {
	t.Helper()
	got, err := dossier.ParseReceiptCode(raw)
	if err == nil {
		t.Errorf("ParseReceiptCode(%q) = %q, want BAD_RECEIPT_CODE", raw, got)
		return
	}
	if code := domain.ErrorCode(err); code != dossier.CodeBadReceiptCode {
		t.Errorf("ParseReceiptCode(%q): code %s, want %s (%v)", raw, code, dossier.CodeBadReceiptCode, err)
	}
}

func TestNewReceiptCode(t *testing.T) {
	t.Run("known vectors", func(t *testing.T) {
		// Worked by hand with Luhn mod 32: a changed algorithm would make every receipt
		// already printed unreadable, so the exact output is pinned.
		cases := []struct {
			name  string
			bytes []byte
			want  dossier.ReceiptCode
		}{
			{"values 0..7", []byte{0, 1, 2, 3, 4, 5, 6, 7}, "01234567M"},
			{"bytes above 31 wrap", []byte{32, 33, 34, 35, 36, 37, 38, 39}, "01234567M"},
			{"alternating 0 and 1", []byte{0, 1, 0, 1, 0, 1, 0, 1}, "01010101R"},
			{"all 255 is all Z", []byte{255, 255, 255, 255, 255, 255, 255, 255}, "ZZZZZZZZ8"},
		}
		for _, c := range cases {
			if got := codeFrom(t, c.bytes...); got != c.want {
				t.Errorf("%s: NewReceiptCode = %q, want %q", c.name, got, c.want)
			}
		}
	})

	t.Run("shape and round trip", func(t *testing.T) {
		for _, c := range randomCodes(t, 1, 2000) {
			s := string(c)
			if len(s) != 9 || strings.Trim(s, alphabet) != "" {
				t.Fatalf("code %q: want 9 characters of the alphabet", s)
			}
			shown := c.String()
			if len(shown) != 11 || shown[4] != '-' || shown[9] != '-' || strings.ReplaceAll(shown, "-", "") != s {
				t.Fatalf("String() = %q, want XXXX-XXXX-C form of %q", shown, s)
			}
			for _, raw := range []string{s, shown} {
				got, err := dossier.ParseReceiptCode(raw)
				if err != nil || got != c {
					t.Fatalf("ParseReceiptCode(%q) = %q, %v; want %q", raw, got, err, c)
				}
			}
		}
	})

	t.Run("uses every alphabet character", func(t *testing.T) {
		seen := map[rune]bool{}
		for _, c := range randomCodes(t, 2, 500) {
			for _, r := range string(c) {
				seen[r] = true
			}
		}
		if len(seen) != 32 {
			t.Errorf("500 codes used %d distinct characters, want all 32", len(seen))
		}
	})

	t.Run("reader failure", func(t *testing.T) {
		for _, r := range []*bytes.Reader{bytes.NewReader(nil), bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7})} {
			if c, err := dossier.NewReceiptCode(r); err == nil {
				t.Errorf("NewReceiptCode from %d bytes = %q, want an error", r.Len(), c)
			}
		}
	})
}

func TestReceiptCodeString(t *testing.T) {
	// Only a well-formed code is split into groups; anything else is shown as it is.
	cases := map[dossier.ReceiptCode]string{
		"01234567M":  "0123-4567-M",
		"":           "",
		"01234567":   "01234567",
		"01234567MM": "01234567MM",
	}
	for c, want := range cases {
		if got := c.String(); got != want {
			t.Errorf("ReceiptCode(%q).String() = %q, want %q", string(c), got, want)
		}
	}
}

func TestParseReceiptCode(t *testing.T) {
	t.Run("accepted as people type it", func(t *testing.T) {
		cases := []struct{ raw, want string }{
			{"0123-4567-M", "01234567M"},
			{"01234567M", "01234567M"},
			{"01234567m", "01234567M"},
			{"0123 4567 m", "01234567M"},
			{"  0123 - 4567 - M  ", "01234567M"},
			{"0-1-2-3-4-5-6-7-M", "01234567M"},
			{"O1O1-O1O1-R", "01010101R"}, // letter O for zero
			{"o1o1o1o1r", "01010101R"},
			{"0I0I-0l0L-R", "01010101R"}, // I and L, either case, for one
			{"OiOl oIoL r", "01010101R"},
			{"zzzz-zzzz-8", "ZZZZZZZZ8"},
			// 40 characters is the most the parser reads: here 31 dashes and the code.
			{strings.Repeat("-", 31) + "01234567M", "01234567M"},
		}
		for _, c := range cases {
			got, err := dossier.ParseReceiptCode(c.raw)
			if err != nil || string(got) != c.want {
				t.Errorf("ParseReceiptCode(%q) = %q, %v; want %q", c.raw, got, err, c.want)
			}
		}
	})

	t.Run("rejected", func(t *testing.T) {
		cases := map[string]string{
			"empty":                             "",
			"only separators":                   " - - ",
			"8 characters":                      "01234567",
			"10 characters":                     "01234567MM",
			"10 characters grouped":             "0123-4567-M0",
			"U is not in the alphabet":          "0123U567M",
			"star":                              "0123*567M",
			"e acute, 9 bytes":                  "0123é56M",
			"emoji, 9 bytes":                    "0123😀M",
			"emoji in place of the check":       "01234567😀",
			"underscore is not a separator":     "0123_4567_M",
			"41 characters though 9 after trim": strings.Repeat("-", 32) + "01234567M",
			"very long":                         strings.Repeat("0", 10_000),
			"wrong check character":             "01234567N",
			"valid code twice":                  "01234567M01234567M",
		}
		for name, raw := range cases {
			t.Run(name, func(t *testing.T) { wantBadCode(t, raw) })
		}
	})

	t.Run("error is a coded domain error", func(t *testing.T) {
		_, err := dossier.ParseReceiptCode("nope")
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != dossier.CodeBadReceiptCode || de.Message == "" {
			t.Errorf("ParseReceiptCode error = %#v, want *domain.Error with code %s and a message", err, dossier.CodeBadReceiptCode)
		}
	})

	t.Run("example in the length message is a valid code", func(t *testing.T) {
		// People copy the example the error shows; it should itself be a code that parses.
		_, err := dossier.ParseReceiptCode("x")
		example := regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]`).FindString(err.Error())
		if example == "" {
			t.Fatal("the message shows no example")
		}
		if _, err := dossier.ParseReceiptCode(example); err != nil {
			t.Fatalf("the message's example %q is not a valid receipt code (its check character should be %q): %v",
				example, checkOf(t, example), err)
		}
	})
}

// checkOf finds the check character that makes body valid, through the public parser.
func checkOf(t *testing.T, code string) string {
	t.Helper()
	body := strings.ReplaceAll(code, "-", "")[:8]
	for _, c := range alphabet {
		if _, err := dossier.ParseReceiptCode(body + string(c)); err == nil {
			return string(c)
		}
	}
	t.Fatalf("no check character makes %q valid", body)
	return ""
}

// TestReceiptCodeCatchesSubstitutions: every single wrong character, in the body or the
// check, is a typo the parser must catch before any lookup.
func TestReceiptCodeCatchesSubstitutions(t *testing.T) {
	codes := append(randomCodes(t, 3, 300), "01234567M", "ZZZZZZZZ8", "000000000")
	tried := 0
	for _, c := range codes {
		s := []byte(c)
		for pos := range s {
			for i := 0; i < len(alphabet); i++ {
				if alphabet[i] == s[pos] {
					continue
				}
				typo := append([]byte(nil), s...)
				typo[pos] = alphabet[i]
				wantBadCode(t, string(typo))
				tried++
			}
		}
	}
	if want := len(codes) * 9 * 31; tried != want {
		t.Fatalf("tried %d substitutions, want %d", tried, want)
	}
}

// isZeroZ is the one pair Luhn mod 32 cannot tell apart when swapped: 0 and Z (value 31)
// weigh the same under either factor (0+2·31 ≡ 31+2·0 after folding), a known limit of
// Luhn mod N for the characters of value 0 and N−1.
func isZeroZ(a, b byte) bool { return a == '0' && b == 'Z' || a == 'Z' && b == '0' }

func swapped(s string, i int) string {
	b := []byte(s)
	b[i], b[i+1] = b[i+1], b[i]
	return string(b)
}

// TestReceiptCodeCatchesAdjacentSwaps: swapping two neighbours in the body is caught, with
// exactly one exception, 0 next to Z.
func TestReceiptCodeCatchesAdjacentSwaps(t *testing.T) {
	check := func(t *testing.T, code string, pos int) (undetected bool) {
		t.Helper()
		if code[pos] == code[pos+1] {
			return false
		}
		typo := swapped(code, pos)
		got, err := dossier.ParseReceiptCode(typo)
		switch {
		case isZeroZ(code[pos], code[pos+1]):
			if err != nil || string(got) != typo {
				t.Errorf("swap %q→%q (0↔Z, undetectable by Luhn mod 32): ParseReceiptCode = %q, %v; want it accepted as is",
					code, typo, got, err)
			}
			return true
		case err == nil:
			t.Errorf("swap at %d: %q→%q was accepted as %q", pos, code, typo, got)
		case domain.ErrorCode(err) != dossier.CodeBadReceiptCode:
			t.Errorf("swap %q→%q: code %s, want %s", code, typo, domain.ErrorCode(err), dossier.CodeBadReceiptCode)
		}
		return false
	}

	t.Run("random codes", func(t *testing.T) {
		swaps := 0
		for _, c := range randomCodes(t, 4, 3000) {
			for pos := 0; pos < 7; pos++ {
				check(t, string(c), pos)
				swaps++
			}
		}
		if swaps == 0 {
			t.Fatal("no swaps tried")
		}
	})

	t.Run("every pair at every position", func(t *testing.T) {
		// Whether a swap is caught depends only on the two characters and their factors,
		// so every pair of characters at every body position, with random neighbours,
		// covers all cases.
		r := rand.New(rand.NewPCG(5, 6))
		undetected := map[string]bool{}
		for pos := 0; pos < 7; pos++ {
			for a := 0; a < 32; a++ {
				for b := 0; b < 32; b++ {
					body := []byte(string(randomCodes(t, r.Uint64(), 1)[0])[:8])
					body[pos], body[pos+1] = alphabet[a], alphabet[b]
					code := string(body) + checkOf(t, string(body))
					if check(t, code, pos) {
						undetected[code[pos:pos+2]] = true
					}
				}
			}
		}
		// The exception must actually have been exercised, in both orders.
		if len(undetected) != 2 || !undetected["0Z"] || !undetected["Z0"] {
			t.Errorf("undetected swaps %v, want exactly 0Z and Z0", undetected)
		}
	})

	t.Run("last body character with the check character", func(t *testing.T) {
		// Not promised by the doc comment, but the same arithmetic holds across the second
		// dash: caught unless the two are 0 and Z.
		sawZeroZ := false
		for _, c := range randomCodes(t, 7, 50_000) {
			if check(t, string(c), 7) {
				sawZeroZ = true
			}
		}
		if !sawZeroZ {
			t.Error("no code ending in 0Z or Z0 among 50000; the exception was not exercised")
		}
	})
}

// FuzzParseReceiptCode: whatever is typed, the parser answers BAD_RECEIPT_CODE or a code
// that prints as it is written on the receipt and reads back as itself.
func FuzzParseReceiptCode(f *testing.F) {
	for _, seed := range []string{"7K3M-9QX2-D", "7k3m 9qx2 d", "OIL0-1111-1", "", strings.Repeat("7", 41), "7K3M-9QX2-\u00d0",
		"7K3M-9QX2-D\x00", "7K3M\xff9QX2-D", "\xed\xa0\x80"} { // NUL, a byte not UTF-8, an encoded surrogate
		f.Add(seed)
	}
	printed := regexp.MustCompile(`^[` + alphabet + `]{4}-[` + alphabet + `]{4}-[` + alphabet + `]$`)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := dossier.ParseReceiptCode(raw)
		if err != nil {
			if domain.ErrorCode(err) != dossier.CodeBadReceiptCode {
				t.Fatalf("%q: an error without its code: %v", raw, err)
			}
			return
		}
		if !printed.MatchString(c.String()) {
			t.Fatalf("%q parses to %q, printed %q", raw, c, c.String())
		}
		if again, err := dossier.ParseReceiptCode(c.String()); err != nil || again != c {
			t.Fatalf("%q prints as %q, which reads back as %q, %v", raw, c.String(), again, err)
		}
	})
}

package dossier_test

import (
	"fmt"
	"testing"

	"courierd/domain/dossier"
)

func TestValidCitizenID(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		ids := []string{
			"001090012345", // Hà Nội, the first province code
			"079203001234", // Hồ Chí Minh City
			"096199000001", // Cà Mau, the last province code
			"001000000000",
		}
		// Every province code from 001 to 096.
		for p := 1; p <= 96; p++ {
			ids = append(ids, fmt.Sprintf("%03d301234567", p))
		}
		for _, id := range ids {
			if !dossier.ValidCitizenID(id) {
				t.Errorf("ValidCitizenID(%q) = false, want true", id)
			}
		}
	})

	t.Run("rejected", func(t *testing.T) {
		cases := map[string]string{
			"province 000":               "000123456789",
			"province 097":               "097123456789",
			"province 099":               "099123456789",
			"province 100":               "100123456789",
			"province 960":               "960123456789",
			"11 digits":                  "00109001234",
			"13 digits":                  "0010900123456",
			"9 digits (old ID card)":     "012345678",
			"empty":                      "",
			"letter":                     "00109001234A",
			"letter in province":         "0A1090012345",
			"spaces":                     "001 090 012 345",
			"leading space":              " 001090012345",
			"trailing newline":           "001090012345\n",
			"sign":                       "+01090012345",
			"full-width digits":          "００１０９００１２３４５",
			"Arabic-Indic digits":        "٠٠١٠٩٠٠١٢٣٤٥",
			"twelve digits after prefix": "ID001090012345",
		}
		for name, id := range cases {
			t.Run(name, func(t *testing.T) {
				if dossier.ValidCitizenID(id) {
					t.Errorf("ValidCitizenID(%q) = true, want false", id)
				}
			})
		}
	})
}

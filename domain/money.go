package domain

import (
	"fmt"
	"math"
)

// Money is whole đồng in an int64. Each amount the system takes in has one maximum, named
// here and nowhere else: the checks, the database's CHECK constraints (migration 00019)
// and the contracts' `maximum` all state these figures (TestMoneyMaximaInContracts,
// TestMoneyBoundsInDatabase). Bounded amounts keep every sum far from int64's limit; the
// bounds sit well above anything genuine, so a figure past one is a typing mistake or a
// broken client, refused rather than carried into a courier's cash or an agency's bill.
const (
	// MaxFeeVND is a procedure's fee (lệ phí). The fees of procedures carried by post run
	// from nothing to a few million đồng (land certificates, business registration); a
	// hundred million is a ceiling no such fee reaches.
	MaxFeeVND int64 = 100_000_000
	// MaxPostageVND is the postage of one dossier or result: tens of thousands of đồng for
	// an envelope anywhere in the country; five million pays an express parcel of heavy
	// files many times over.
	MaxPostageVND int64 = 5_000_000
	// MaxSurchargeVND is the post's charge for collecting a fee on an agency's behalf, a
	// few thousand đồng; held to postage's ceiling.
	MaxSurchargeVND int64 = 5_000_000
	// MaxDueVND is the most a dossier can owe, fee, postage and surcharge together. It is
	// also the most a courier may record taking at one stop and the most one bank transfer
	// may bring: one stop and one transfer settle one dossier.
	MaxDueVND = MaxFeeVND + MaxPostageVND + MaxSurchargeVND
	// MaxTotalVND bounds the sums reports show (a courier's day, an agency's remittance):
	// the largest whole number a JavaScript client reads exactly. A whole country's year
	// stays far below it (40,000 dossiers a day at MaxDueVND each for 366 days is 1.6e15).
	MaxTotalVND int64 = 1<<53 - 1
)

// MaxVND is the maximum of every money field, by the name it has in the contracts'
// schemas and the database's columns. A new field gets its line here, or the tests that
// walk every *_vnd property and column fail.
var MaxVND = map[string]int64{
	"fee_vnd":                  MaxFeeVND,
	"postage_vnd":              MaxPostageVND,
	"surcharge_vnd":            MaxSurchargeVND,
	"collection_surcharge_vnd": MaxSurchargeVND,
	"due_vnd":                  MaxDueVND,
	"amount_due_vnd":           MaxDueVND,
	"fee_collected_vnd":        MaxDueVND, // what a courier took at a pickup
	"amount_vnd":               MaxDueVND, // a courier's collection at a stop, a bank transfer
	"paid_vnd":                 MaxDueVND, // what counts against a bill; more is refunded
	"refund_vnd":               MaxDueVND,
	"collected_vnd":            MaxDueVND, // a courier's takings at one stop
	// Sums over a day or a period (they also name one dossier's share in a remittance's
	// lines, which the sum bounds too).
	"received_vnd":   MaxTotalVND,
	"agency_vnd":     MaxTotalVND,
	"total_vnd":      MaxTotalVND,
	"to_hand_in_vnd": MaxTotalVND,
	// A courier's cash counted at the counter, and the cash reports' sums of it; an
	// agency's remittances.
	"counted_vnd":          MaxTotalVND,
	"handed_in_vnd":        MaxTotalVND,
	"still_to_hand_in_vnd": MaxTotalVND,
	"short_vnd":            MaxTotalVND,
	"over_vnd":             MaxTotalVND,
	"remitted_vnd":         MaxTotalVND,
	"owed_vnd":             MaxTotalVND,
	// The takings report's sums of an office's day, by how they were paid.
	"cash_vnd":     MaxTotalVND,
	"transfer_vnd": MaxTotalVND,
	"bank_vnd":     MaxTotalVND,
	// A table where a name above means a sum: "table.column" overrides the name's bound.
	"report_cash_rollup.collected_vnd": MaxTotalVND,
}

// CheckVND adds a problem on field unless min <= v <= max, the reason naming the bounds.
func (p *Problems) CheckVND(v, min, max int64, field string) {
	p.Check(v >= min && v <= max, field, fmt.Sprintf("must be between %d and %d đồng", min, max))
}

// Tally adds amounts of đồng, remembering whether a sum ever left int64's range instead of
// wrapping round to a negative or, worse, a plausible figure. With bounded amounts it
// never does in practice; the check makes that a fact rather than a hope.
type Tally struct{ overflowed bool }

// Sum is a+b, or a unchanged (and the tally spoilt) when the sum does not fit.
func (t *Tally) Sum(a, b int64) int64 {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		t.overflowed = true
		return a
	}
	return a + b
}

// Err is an internal error when some sum did not fit: a total is never answered wrong.
func (t *Tally) Err() error {
	if t.overflowed {
		return Errorf(CodeInternal, "a money total does not fit in 64 bits")
	}
	return nil
}

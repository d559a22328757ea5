package domain_test

import (
	"math"
	"testing"

	"courierd/domain"
)

// TestTallyNeverWraps: sums at and past int64's ends spoil the tally instead of wrapping
// round; sums inside it are exact.
func TestTallyNeverWraps(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b, want int64
		fits       bool
	}{
		{0, domain.MaxDueVND, domain.MaxDueVND, true},
		{math.MaxInt64 - domain.MaxDueVND, domain.MaxDueVND, math.MaxInt64, true},
		{math.MaxInt64 - domain.MaxDueVND + 1, domain.MaxDueVND, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, false},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64 + 1, -1, math.MinInt64, true},
		{-5, 3, -2, true},
	} {
		var tally domain.Tally
		got := tally.Sum(c.a, c.b)
		if fits := tally.Err() == nil; fits != c.fits || (fits && got != c.want) {
			t.Errorf("%d + %d: %d, fits %v; want %d, fits %v", c.a, c.b, got, fits, c.want, c.fits)
		}
	}
	// A spoilt tally stays spoilt.
	var tally domain.Tally
	tally.Sum(math.MaxInt64, 1)
	tally.Sum(1, 1)
	if e, ok := domain.AsError(tally.Err()); !ok || e.Code != domain.CodeInternal {
		t.Fatalf("after an overflow: %v", tally.Err())
	}
}

// TestMoneyMaxima: the most a dossier can owe is what its three parts can add up to, and
// every field's maximum is one of the named figures.
func TestMoneyMaxima(t *testing.T) {
	t.Parallel()
	if domain.MaxDueVND != domain.MaxFeeVND+domain.MaxPostageVND+domain.MaxSurchargeVND {
		t.Fatal("MaxDueVND is not fee, postage and surcharge at their maxima")
	}
	for field, max := range domain.MaxVND {
		if max != domain.MaxFeeVND && max != domain.MaxPostageVND && max != domain.MaxSurchargeVND && max != domain.MaxDueVND &&
			max != domain.MaxTotalVND {
			t.Errorf("%s: %d is not a named maximum", field, max)
		}
	}
}

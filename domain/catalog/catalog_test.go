package catalog_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/catalog"
)

// square is a closed ring around (lon, lat) with half-side h degrees.
func square(lon, lat, h float64) orb.Ring {
	return orb.Ring{{lon - h, lat - h}, {lon + h, lat - h}, {lon + h, lat + h}, {lon - h, lat + h}, {lon - h, lat - h}}
}

func validPostOffice() catalog.PostOffice {
	return catalog.PostOffice{Code: "820100", Name: "Bưu cục Thủ Dầu Một", Kind: catalog.PostOfficeFull, AdminUnitCode: "25747",
		Address: "324 Đại lộ Bình Dương", Location: orb.Point{106.66, 10.98},
		ServiceArea: orb.MultiPolygon{{square(106.66, 10.98, 0.02)}}}
}

func validProcedure() catalog.Procedure {
	return catalog.Procedure{Code: "1.001193", Name: "Đăng ký khai sinh", AgencyKind: catalog.AgencyCommuneCommittee,
		ProcessingDays: 3, FeeVND: 8000, PostageVND: 25000, PickupByPost: true, ReturnByPost: true,
		Documents: []catalog.RequiredDocument{{Name: "Tờ khai đăng ký khai sinh", Form: catalog.FormOriginal, Quantity: 1}}}
}

func validCourier() catalog.Courier {
	return catalog.Courier{StaffCode: "BT01", Name: "Nguyễn Văn An", Phone: "0912345678", PostOfficeID: uuid.New(),
		VehicleKind: catalog.VehicleMotorbike, CapacityItems: 30, ShiftStartMin: 450, ShiftEndMin: 1020,
		Skills: []string{catalog.SkillCashCollection}, Active: true}
}

// fieldsOf lists the fields a VALIDATION_FAILED error names, or fails the test.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	e, ok := domain.AsError(err)
	if !ok || e.Code != domain.CodeValidationFailed {
		t.Fatalf("want VALIDATION_FAILED, got %v", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestValidate(t *testing.T) {
	valid := map[string]interface{ Validate() error }{
		"province":        catalog.AdminUnit{Code: "79", Name: "Thành phố Hồ Chí Minh", Level: catalog.LevelProvince, Kind: "city"},
		"legacy district": catalog.AdminUnit{Code: "718", Name: "Thành phố Thủ Dầu Một", Level: catalog.LevelDistrict, Kind: "city", ParentCode: "74", Legacy: true},
		"commune":         catalog.AdminUnit{Code: "25747", Name: "Phường Phú Hòa", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "79"},
		"agency": catalog.Agency{Code: "000.00.12.H12", Name: "Sở Tư pháp", Kind: catalog.AgencyDepartment, AdminUnitCode: "74",
			Address: "Tầng 9, Tháp A, Trung tâm Hành chính", Location: orb.Point{106.67, 10.98}},
		"post office":          validPostOffice(),
		"procedure":            validProcedure(),
		"procedure local code": func() catalog.Procedure { p := validProcedure(); p.Code = "1.001193.000.00.00.H12"; return p }(),
		"free procedure":       func() catalog.Procedure { p := validProcedure(); p.FeeVND, p.ProcessingDays = 0, 0; return p }(),
		"holiday":              catalog.CalendarDay{Date: time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday, Name: "Quốc khánh"},
		"working saturday":     catalog.CalendarDay{Date: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), Kind: catalog.DayWorking, Name: "Làm bù"},
		"courier":              validCourier(),
		"courier to midnight":  func() catalog.Courier { c := validCourier(); c.ShiftEndMin = 1440; return c }(),
	}
	for name, r := range valid {
		t.Run("valid/"+name, func(t *testing.T) {
			if err := r.Validate(); err != nil {
				t.Fatalf("want valid, got %v", err)
			}
		})
	}

	invalid := []struct {
		name   string
		record interface{ Validate() error }
		fields []string
	}{
		{"province with parent", catalog.AdminUnit{Code: "79", Name: "X", Level: catalog.LevelProvince, Kind: "city", ParentCode: "01"}, []string{"parent_code"}},
		{"commune code too short", catalog.AdminUnit{Code: "257", Name: "X", Level: catalog.LevelCommune, Kind: "ward", ParentCode: "79"}, []string{"code"}},
		{"district not legacy", catalog.AdminUnit{Code: "718", Name: "X", Level: catalog.LevelDistrict, Kind: "city", ParentCode: "74"}, []string{"legacy"}},
		{"unknown level and blank name", catalog.AdminUnit{Code: "79", Name: " ", Level: "region"}, []string{"name", "level"}},
		{"ward kind at province level", catalog.AdminUnit{Code: "79", Name: "X", Level: catalog.LevelProvince, Kind: "ward"}, []string{"kind"}},
		{"agency latitude out of range", catalog.Agency{Code: "A1", Name: "X", Kind: catalog.AgencyPolice, AdminUnitCode: "79", Address: "Y",
			Location: orb.Point{106.6, 95}}, []string{"location"}},
		{"agency swapped lat/lon", catalog.Agency{Code: "A1", Name: "X", Kind: catalog.AgencyPolice, AdminUnitCode: "79", Address: "Y",
			Location: orb.Point{10.98, 106.6}}, []string{"location"}},
		{"agency unknown kind, no unit", catalog.Agency{Code: "A1", Name: "X", Kind: "court", Address: "Y", Location: orb.Point{106.6, 10.9}},
			[]string{"kind", "admin_unit_code"}},
		{"post office unclosed ring", func() catalog.PostOffice {
			o := validPostOffice()
			o.ServiceArea[0][0] = o.ServiceArea[0][0][:4]
			return o
		}(), []string{"service_area.coordinates[0]"}},
		{"post office bow-tie ring", func() catalog.PostOffice {
			o := validPostOffice()
			o.ServiceArea = orb.MultiPolygon{{{{106.6, 10.9}, {106.8, 11.1}, {106.8, 10.9}, {106.6, 11.0}, {106.6, 10.9}}}}
			return o
		}(), []string{"service_area.coordinates[0]"}},
		{"post office no area, bad code", func() catalog.PostOffice {
			o := validPostOffice()
			o.ServiceArea, o.Code = nil, "BC-1"
			return o
		}(), []string{"code", "service_area"}},
		{"procedure negative fee and postage", func() catalog.Procedure {
			p := validProcedure()
			p.FeeVND, p.PostageVND = -1, -5000
			return p
		}(), []string{"fee_vnd", "postage_vnd"}},
		{"procedure bad code and days", func() catalog.Procedure {
			p := validProcedure()
			p.Code, p.ProcessingDays = "TTHC-12", 400
			return p
		}(), []string{"code", "processing_days"}},
		{"procedure bad document", func() catalog.Procedure {
			p := validProcedure()
			p.Documents = append(p.Documents, catalog.RequiredDocument{Name: "Giấy", Form: "scan", Quantity: 0})
			return p
		}(), []string{"documents[1].form", "documents[1].quantity"}},
		{"working day on a weekday", catalog.CalendarDay{Date: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Kind: catalog.DayWorking, Name: "X"}, []string{"kind"}},
		{"day with a time of day", catalog.CalendarDay{Date: time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC), Kind: catalog.DayHoliday, Name: "X"}, []string{"date"}},
		{"courier shift backwards, bad phone", func() catalog.Courier {
			c := validCourier()
			c.ShiftStartMin, c.ShiftEndMin, c.Phone = 1000, 900, "12345"
			return c
		}(), []string{"phone", "shift_end"}},
		{"courier unknown and repeated skill", func() catalog.Courier {
			c := validCourier()
			c.Skills = []string{"flying", catalog.SkillIdentityCheck, catalog.SkillIdentityCheck}
			return c
		}(), []string{"skills", "skills"}},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			got := fieldsOf(t, tc.record.Validate())
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields at fault: got %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestPostOfficeServes(t *testing.T) {
	o := validPostOffice()
	o.ServiceArea = orb.MultiPolygon{
		{square(106.66, 10.98, 0.02), square(106.66, 10.98, 0.005)}, // with a hole in the middle
		{square(106.70, 11.03, 0.01)},
	}
	cases := map[orb.Point]bool{
		{106.675, 10.99}: true,  // in the first polygon, outside the hole
		{106.66, 10.98}:  false, // in the hole
		{106.70, 11.03}:  true,  // in the second polygon
		{106.80, 10.98}:  false, // outside both
	}
	for pt, want := range cases {
		if got := o.Serves(pt); got != want {
			t.Errorf("Serves(%v) = %v, want %v", pt, got, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := map[string]string{
		"0912345678":     "0912345678",
		"+84912345678":   "0912345678",
		"84 912 345 678": "0912345678",
		"091.234.5678":   "0912345678",
		"0212345678":     "", // landline prefix
		"091234567":      "", // too short
		"":               "",
	}
	for raw, want := range cases {
		if got := domain.NormalizePhone(raw); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", raw, got, want)
		}
	}
}

package api

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/report"
)

// reportLegDTO is one leg of the legal clock: the legs that ended in the period, on time and late.
type reportLegDTO struct {
	OnTime int `json:"on_time"`
	Late   int `json:"late"`
}

type flowRowDTO struct {
	Key                string            `json:"key" doc:"the group's id: a post office's, an agency's, a procedure's or a courier's" example:"3e9b2c4d-7f1a-4e6b-8c2d-5a0f9e1b3c72"`
	PickedUp           int               `json:"picked_up"`
	HandedToAgency     int               `json:"handed_to_agency"`
	ResultsCollected   int               `json:"results_collected" doc:"results the post took from the agency"`
	Delivered          int               `json:"delivered" doc:"results and refused dossiers the applicant received, every way"`
	DeliveredByPost    int               `json:"delivered_by_post"`
	CollectedAtCounter int               `json:"collected_at_counter" doc:"at the post office's counter"`
	CollectedAtAgency  int               `json:"collected_at_agency" doc:"at the agency's desk (dossiers without return by post)"`
	PostShare          *float64          `json:"post_share" doc:"delivered_by_post over delivered_by_post plus collected_at_counter; null when both are 0" example:"0.75"`
	PickupLeg          reportLegDTO      `json:"pickup_leg" doc:"request to the agency's receipt, against pickup_due"`
	AgencyLeg          reportLegDTO      `json:"agency_leg" doc:"the agency's receipt to its result or refusal, against the appointment date"`
	DeliveryLeg        reportLegDTO      `json:"delivery_leg" doc:"result to the applicant, against delivery_due (dossiers returned by post)"`
	DeliveryFailed     int               `json:"delivery_failed" doc:"failed delivery attempts"`
	FailedByReason     []failureCountDTO `json:"failed_by_reason" doc:"failed delivery attempts by reason, in the reasons' order"`
	Held               int               `json:"held" doc:"results put on hold at the post office: by a dispatcher, the applicant's choice or the last failed attempt"`
	Returned           int               `json:"returned" doc:"held results never collected, sent back to the agency"`
	PickupLeadMeanS    *int64            `json:"pickup_lead_mean_s" doc:"mean seconds from the request to the pickup; null without pickups" example:"86400"`
	PickupLeadMedianS  *int64            `json:"pickup_lead_median_s" doc:"median seconds from the request to the pickup, read from 10 %-wide buckets (within 5 % of the exact median); null without pickups" example:"79200"`
	Ratings            int               `json:"ratings" doc:"citizens' ratings given in the period"`
	RatingAverage      *float64          `json:"rating_average" doc:"their mean stars, 1 to 5; null without ratings" example:"4.5"`
}

// failureCountDTO is how many attempts failed for one reason. Its fields are in name order,
// as a CSV cell holds them.
type failureCountDTO struct {
	Count  int    `json:"count"`
	Reason string `json:"reason" enum:"not_at_home,refused,wrong_address,identity_not_proven,other"`
}

// reportBody is a report's answer: its period and grouping, and its rows.
type reportBody[D any] struct {
	From  string `json:"from" format:"date" example:"2026-11-01"`
	To    string `json:"to" format:"date" example:"2026-12-01" doc:"the day after the last"`
	By    string `json:"by,omitempty" enum:"post_office,agency,procedure,courier,category" doc:"what each row is per, where the report is grouped (category: the complaints report only)"`
	Items []D    `json:"items"`
}

type courierWorkDTO struct {
	CourierID   string  `json:"courier_id" example:"3e9b2c4d-7f1a-4e6b-8c2d-5a0f9e1b3c72"`
	StopsDone   int     `json:"stops_done" doc:"pickups, handovers to the agency, collections and deliveries completed"`
	StopsFailed int     `json:"stops_failed" doc:"failed pickups and deliveries"`
	OnRouteS    int64   `json:"on_route_s" doc:"seconds from each day's first breadcrumb to its last, summed"`
	TravelledM  float64 `json:"travelled_m" doc:"metres along the breadcrumbs, point to point"`
	PlannedM    float64 `json:"planned_m" doc:"metres of the published plans' routes for the courier"`
}

type lateLegDTO struct {
	DossierID    string   `json:"dossier_id" example:"01a24a90-6246-75b9-9c05-84b1d9a11da5"`
	ReceiptCode  string   `json:"receipt_code" example:"RDN2-EEB3-T"`
	PostOfficeID string   `json:"post_office_id"`
	AgencyID     string   `json:"agency_id"`
	Leg          string   `json:"leg" enum:"pickup,agency,delivery"`
	Due          string   `json:"due" format:"date" example:"2026-11-04" doc:"the leg's target"`
	Ended        string   `json:"ended" format:"date" example:"2026-11-06" doc:"the day the leg ended, in Vietnam"`
	Reasons      []string `json:"reasons" doc:"the reasons of the failed pickups or deliveries on the way, oldest first" example:"[\"not_at_home\"]"`
}

type cashTakingsDTO struct {
	PostOfficeID string `json:"post_office_id" example:"3e9b2c4d-7f1a-4e6b-8c2d-5a0f9e1b3c72"`
	Date         string `json:"date" format:"date" example:"2026-11-02"`
	Collections  int    `json:"collections" doc:"payments couriers recorded at the door"`
	CollectedVND int64  `json:"collected_vnd" sum:"true" doc:"everything couriers recorded at the door"`
	CashVND      int64  `json:"cash_vnd" sum:"true" doc:"the cash among it: what the couriers hand in at the counter"`
	TransferVND  int64  `json:"transfer_vnd" sum:"true" doc:"paid at the door by transfer or QR"`
	BankVND      int64  `json:"bank_vnd" sum:"true" doc:"transfers the bank reported for the office's dossiers"`
	HandedInVND  int64  `json:"handed_in_vnd" doc:"the cash counted at the office's counter for the day's collections"`
	ShortVND     int64  `json:"short_vnd" doc:"what the counted cash lacked of the lines it covered"`
	OverVND      int64  `json:"over_vnd" doc:"what the counted cash had beyond the lines it covered"`
	RemittedVND  int64  `json:"remitted_vnd" doc:"agencies' shares of the office's dossiers transferred to them that day"`
}

func toFlowRowDTO(r report.FlowRow) flowRowDTO {
	out := flowRowDTO{Key: r.Key.String(), PickedUp: r.PickedUp, HandedToAgency: r.HandedToAgency, ResultsCollected: r.ResultsCollected,
		Delivered: r.Delivered, DeliveredByPost: r.DeliveredByPost, CollectedAtCounter: r.CollectedAtCounter, CollectedAtAgency: r.CollectedAtAgency,
		PickupLeg: reportLegDTO(r.PickupLeg), AgencyLeg: reportLegDTO(r.AgencyLeg), DeliveryLeg: reportLegDTO(r.DeliveryLeg),
		DeliveryFailed: r.DeliveryFailed, FailedByReason: []failureCountDTO{}, Held: r.Held, Returned: r.Returned,
		PickupLeadMeanS: wholeSeconds(r.PickupLeadMean), PickupLeadMedianS: wholeSeconds(r.PickupLeadMedian), Ratings: r.Ratings}
	if r.Ratings > 0 {
		average := float64(r.RatingStars) / float64(r.Ratings)
		out.RatingAverage = &average
	}
	for _, reason := range slices.Sorted(maps.Keys(r.FailedByReason)) {
		out.FailedByReason = append(out.FailedByReason, failureCountDTO{Count: r.FailedByReason[reason], Reason: reason})
	}
	if both := r.DeliveredByPost + r.CollectedAtCounter; both > 0 {
		share := float64(r.DeliveredByPost) / float64(both)
		out.PostShare = &share
	}
	return out
}

func wholeSeconds(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	s := int64(d.Seconds())
	return &s
}

// answerReport answers a report over the request's period, days of Vietnam's calendar with
// to excluded, as JSON or CSV: fetch computes it, toDTO makes each row an answer's.
func answerReport[R, D any](c *fiber.Ctx, name string, grouped bool, fetch func(from, to time.Time, by report.Grouping, office uuid.UUID) ([]R, error), toDTO func(R) D) error {
	var p domain.Problems
	from, to := queryPeriod(c, &p)
	office := optionalID(&p, "post_office_id", c.Query("post_office_id"))
	if err := p.Err(); err != nil {
		return err
	}
	body := reportBody[D]{From: from.Format(dateLayout), To: to.Format(dateLayout)}
	by := report.ByPostOffice
	if grouped {
		by = report.Grouping(c.Query("by", string(report.ByPostOffice)))
		body.By = string(by)
		name += "-" + body.By
	}
	rows, err := fetch(from, to, by, office)
	if err != nil {
		return err
	}
	body.Items = make([]D, len(rows))
	for i, r := range rows {
		body.Items[i] = toDTO(r)
	}
	return answerRows(c, name+"-"+body.From+"-"+body.To+".csv", body.Items, func() error { return c.JSON(body) })
}

// period is every report's query: the days, and one post office of the caller's scope.
var period = []queryParam{dateParam("from", "the first day (required)"),
	dateParam("to", fmt.Sprintf("the day after the last (required; at most %d days after from)", report.MaxSpanDays)),
	param("post_office_id", "", "one post office only (a UUID); one outside the caller's scope has no rows")}

var groupingNames = func() []string {
	names := make([]string, len(report.Groupings))
	for i, g := range report.Groupings {
		names[i] = string(g)
	}
	return names
}()

func mountPeriodReports(rt *router, svc *report.Service) {
	rt.get("/reports/flow", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk), func(c *fiber.Ctx) error {
		return answerReport(c, "flow", true, func(from, to time.Time, by report.Grouping, office uuid.UUID) ([]report.FlowRow, error) {
			return svc.Flow(c.UserContext(), from, to, by, office)
		}, toFlowRowDTO)
	}).doc("The dossiers' flow in [from, to), per post office, agency, procedure or courier, from the record: pickups, handovers, results, deliveries, the legal clock's legs on time and late, failed deliveries by reason, holds, returns, pickup lead time, citizens' ratings").
		params(period...).params(enumParam("by", "what each row is per (default post_office)", groupingNames...)).
		answers(fiber.StatusOK, reportBody[flowRowDTO]{}).alsoAnswers(mimeCSV)
	rt.get("/reports/late", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk), func(c *fiber.Ctx) error {
		return answerReport(c, "late", false, func(from, to time.Time, _ report.Grouping, office uuid.UUID) ([]report.LateLeg, error) {
			return svc.LateLegs(c.UserContext(), from, to, office)
		}, func(l report.LateLeg) lateLegDTO {
			return lateLegDTO{DossierID: l.DossierID.String(), ReceiptCode: l.Receipt.String(), PostOfficeID: l.PostOfficeID.String(), AgencyID: l.AgencyID.String(),
				Leg: l.Leg, Due: l.Due.Format(dateLayout), Ended: l.Ended.Format(dateLayout), Reasons: l.Reasons}
		})
	}).doc(fmt.Sprintf("The legs of the legal clock that ended late in [from, to), with the failed attempts' reasons on the way, in the order they ended (at most %d)", report.MaxLateLegs)).
		params(period...).answers(fiber.StatusOK, reportBody[lateLegDTO]{}).alsoAnswers(mimeCSV)
	postOnly := staff(auth.RoleAdmin, auth.RoleDispatcher)
	rt.get("/reports/couriers", postOnly, func(c *fiber.Ctx) error {
		return answerReport(c, "couriers", false, func(from, to time.Time, _ report.Grouping, office uuid.UUID) ([]report.CourierRow, error) {
			return svc.Couriers(c.UserContext(), from, to, office)
		}, func(r report.CourierRow) courierWorkDTO {
			return courierWorkDTO{CourierID: r.CourierID.String(), StopsDone: r.StopsDone, StopsFailed: r.StopsFailed,
				OnRouteS: int64(r.OnRoute.Seconds()), TravelledM: r.TravelledM, PlannedM: r.PlannedM}
		})
	}).doc("Couriers' work in [from, to): stops done and failed, time on route and distance travelled from their breadcrumbs, distance planned").
		params(period...).answers(fiber.StatusOK, reportBody[courierWorkDTO]{}).alsoAnswers(mimeCSV)
	rt.get("/reports/cash", postOnly, func(c *fiber.Ctx) error {
		return answerReport(c, "cash", false, func(from, to time.Time, _ report.Grouping, office uuid.UUID) ([]report.CashRow, error) {
			return svc.Cash(c.UserContext(), from, to, office)
		}, func(r report.CashRow) cashTakingsDTO {
			return cashTakingsDTO{PostOfficeID: r.PostOfficeID.String(), Date: r.Day.Format(dateLayout), Collections: r.Collections,
				CollectedVND: r.CollectedVND, CashVND: r.CashVND, TransferVND: r.TransferVND, BankVND: r.BankVND,
				HandedInVND: r.HandedInVND, ShortVND: r.ShortVND, OverVND: r.OverVND, RemittedVND: r.RemittedVND}
		})
	}).doc("The money each post office took in [from, to), per day: couriers' collections at the door by how they were paid, the bank's transfers, the cash handed in at the counter (short and over) and the agencies' shares remitted").
		params(period...).answers(fiber.StatusOK, reportBody[cashTakingsDTO]{}).alsoAnswers(mimeCSV)
}

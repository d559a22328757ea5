package api

import (
	"maps"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

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
	PickupLeadMedianS  *int64            `json:"pickup_lead_median_s" doc:"median seconds from the request to the pickup; null without pickups" example:"79200"`
}

// failureCountDTO is how many attempts failed for one reason. Its fields are in name order,
// as a CSV cell holds them.
type failureCountDTO struct {
	Count  int    `json:"count"`
	Reason string `json:"reason" enum:"not_at_home,refused,wrong_address,identity_not_proven,other"`
}

type flowReportDTO struct {
	From  string       `json:"from" format:"date" example:"2026-11-01"`
	To    string       `json:"to" format:"date" example:"2026-12-01" doc:"the day after the last"`
	By    string       `json:"by" enum:"post_office,agency,procedure,courier"`
	Items []flowRowDTO `json:"items"`
}

func toFlowRowDTO(r report.FlowRow) flowRowDTO {
	out := flowRowDTO{Key: r.Key.String(), PickedUp: r.PickedUp, HandedToAgency: r.HandedToAgency, ResultsCollected: r.ResultsCollected,
		Delivered: r.Delivered, DeliveredByPost: r.DeliveredByPost, CollectedAtCounter: r.CollectedAtCounter, CollectedAtAgency: r.CollectedAtAgency,
		PickupLeg: reportLegDTO(r.PickupLeg), AgencyLeg: reportLegDTO(r.AgencyLeg), DeliveryLeg: reportLegDTO(r.DeliveryLeg),
		DeliveryFailed: r.DeliveryFailed, FailedByReason: []failureCountDTO{}, Held: r.Held, Returned: r.Returned,
		PickupLeadMeanS: wholeSeconds(r.PickupLeadMean), PickupLeadMedianS: wholeSeconds(r.PickupLeadMedian)}
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

// reportPeriod reads a report's required period, days of Vietnam's calendar with to excluded,
// and its grouping.
func reportPeriod(c *fiber.Ctx) (from, to time.Time, by report.Grouping, err error) {
	var p domain.Problems
	from, to = queryDate(c, &p, "from"), queryDate(c, &p, "to")
	p.Check(c.Query("from") != "", "from", "is required, as YYYY-MM-DD")
	p.Check(c.Query("to") != "", "to", "is required, as YYYY-MM-DD (the day after the last)")
	return from, to, report.Grouping(c.Query("by", string(report.ByPostOffice))), p.Err()
}

var groupingNames = func() []string {
	names := make([]string, len(report.Groupings))
	for i, g := range report.Groupings {
		names[i] = string(g)
	}
	return names
}()

func mountPeriodReports(rt *router, svc *report.Service) {
	readers := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk)
	rt.get("/reports/flow", readers, func(c *fiber.Ctx) error {
		from, to, by, err := reportPeriod(c)
		if err != nil {
			return err
		}
		rows, err := svc.Flow(c.UserContext(), from, to, by)
		if err != nil {
			return err
		}
		items := make([]flowRowDTO, len(rows))
		for i, r := range rows {
			items[i] = toFlowRowDTO(r)
		}
		period := from.Format(dateLayout) + "-" + to.Format(dateLayout)
		return answerRows(c, "flow-"+string(by)+"-"+period+".csv", items, func() error {
			return c.JSON(flowReportDTO{From: from.Format(dateLayout), To: to.Format(dateLayout), By: string(by), Items: items})
		})
	}).doc("The dossiers' flow in [from, to), per post office, agency, procedure or courier, from the record: pickups, handovers, results, deliveries, the legal clock's legs on time and late, failed deliveries by reason, holds, returns, pickup lead time").
		params(dateParam("from", "the first day (required)"),
			dateParam("to", "the day after the last (required; at most 366 days after from)"),
			enumParam("by", "what each row is per (default post_office)", groupingNames...)).
		answers(fiber.StatusOK, flowReportDTO{}).alsoAnswers(mimeCSV)
}

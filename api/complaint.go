package api

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/complaint"
	"courierd/domain/report"
)

type newComplaintDTO struct {
	Category string `json:"category" enum:"late,damaged,rude,wrong_person,other"`
	Text     string `json:"text" example:"Bưu tá hẹn sáng thứ Hai nhưng đến thứ Tư mới đến lấy hồ sơ." doc:"10 to 2000 characters"`
}

// citizenComplaintDTO is a complaint as its applicant sees it: no staff names.
type citizenComplaintDTO struct {
	ID          string     `json:"id" example:"0b6c3a4e-8f55-4a3b-9d43-2b7d1f0e9a11"`
	DossierID   string     `json:"dossier_id"`
	ReceiptCode string     `json:"receipt_code" example:"7K3M-9QX2-D"`
	Category    string     `json:"category" enum:"late,damaged,rude,wrong_person,other"`
	Text        string     `json:"text"`
	State       string     `json:"state" enum:"open,answered,closed"`
	FiledAt     time.Time  `json:"filed_at"`
	DueAt       time.Time  `json:"due_at" doc:"the answer is late from this instant: the end of the deadline's last day in Vietnam"`
	Answer      string     `json:"answer" doc:"the post office's answer; empty until answered"`
	AnsweredAt  *time.Time `json:"answered_at"`
	ClosedAt    *time.Time `json:"closed_at"`
}

// complaintDTO is a complaint as the office sees it.
type complaintDTO struct {
	citizenComplaintDTO
	PostOfficeID string `json:"post_office_id"`
	AnsweredBy   string `json:"answered_by" doc:"the account that answered; empty until answered"`
	Overdue      bool   `json:"overdue" doc:"still open past its deadline"`
}

type complaintAnswerDTO struct {
	Answer string `json:"answer" example:"Chúng tôi xin lỗi ông/bà; bưu tá đã được nhắc nhở và hồ sơ đã được phát ngày 09/12." doc:"1 to 4000 characters"`
}

// complaintRowDTO is one group of the complaints report.
type complaintRowDTO struct {
	Key            string `json:"key" doc:"the group: a post office's id, or a category" example:"3e9b2c4d-7f1a-4e6b-8c2d-5a0f9e1b3c72"`
	Filed          int    `json:"filed" doc:"complaints filed in the period"`
	Late           int    `json:"late"`
	Damaged        int    `json:"damaged"`
	Rude           int    `json:"rude"`
	WrongPerson    int    `json:"wrong_person"`
	Other          int    `json:"other"`
	AnsweredOnTime int    `json:"answered_on_time" doc:"answered before their deadline"`
	AnsweredLate   int    `json:"answered_late" doc:"answered after their deadline"`
	OpenOverdue    int    `json:"open_overdue" doc:"still unanswered now, past their deadline"`
	AnswerMeanS    *int64 `json:"answer_mean_s" doc:"mean seconds from filing to the answer; null when none was answered" example:"172800"`
}

func toCitizenComplaintDTO(c complaint.Complaint) citizenComplaintDTO {
	return citizenComplaintDTO{ID: c.ID.String(), DossierID: c.DossierID.String(), ReceiptCode: c.Receipt.String(), Category: string(c.Category),
		Text: c.Text, State: string(c.State), FiledAt: c.FiledAt, DueAt: c.DueAt, Answer: c.Answer, AnsweredAt: c.AnsweredAt, ClosedAt: c.ClosedAt}
}

// toComplaintDTO shapes a complaint for the office, overdue as of now.
func toComplaintDTO(now time.Time) func(complaint.Complaint) complaintDTO {
	return func(c complaint.Complaint) complaintDTO {
		out := complaintDTO{citizenComplaintDTO: toCitizenComplaintDTO(c), PostOfficeID: c.PostOfficeID.String(), Overdue: c.Overdue(now)}
		if c.AnsweredBy != uuid.Nil {
			out.AnsweredBy = c.AnsweredBy.String()
		}
		return out
	}
}

func toComplaintRowDTO(r complaint.ReportRow) complaintRowDTO {
	return complaintRowDTO{Key: r.Key, Filed: r.Filed, Late: r.ByCategory[complaint.Late], Damaged: r.ByCategory[complaint.Damaged],
		Rude: r.ByCategory[complaint.Rude], WrongPerson: r.ByCategory[complaint.WrongPerson], Other: r.ByCategory[complaint.Other],
		AnsweredOnTime: r.AnsweredOnTime, AnsweredLate: r.AnsweredLate, OpenOverdue: r.OpenOverdue, AnswerMeanS: wholeSeconds(r.AnswerTimeMean)}
}

var complaintCodes = []domain.Code{complaint.CodeAlreadyOpen}

// mountComplaints serves citizens' complaints: the applicant files and reads theirs, the
// office's dispatchers (and admins) list, answer and close them, and report on them.
func mountComplaints(rt *router, svc *complaint.Service) {
	rt.post("/citizen/dossiers/:key/complaints", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		var body newComplaintDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		filed, err := svc.File(c.UserContext(), id, complaint.Category(body.Category), body.Text)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toCitizenComplaintDTO(filed))
	})).doc("Complain about one's dossier: the post office answers within the deadline (COMPLAINT_ANSWER_DEADLINE); one open complaint per category").
		takes(newComplaintDTO{}).answers(fiber.StatusCreated, citizenComplaintDTO{}).fails(complaintCodes...)
	rt.get("/citizen/dossiers/:key/complaints", citizens, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		var p domain.Problems
		page := queryPage(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.Mine(c.UserContext(), id, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, toCitizenComplaintDTO))
	})).doc("One's complaints about one's dossier, newest first, with the post office's answers").params(paging...).
		answers(fiber.StatusOK, listBody[citizenComplaintDTO]{})

	office := staff(auth.RoleAdmin, auth.RoleDispatcher)
	rt.get("/complaints", office, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		f := complaint.Filter{State: complaint.State(strings.Clone(c.Query("state")))}
		if id := optionalID(&p, "post_office_id", c.Query("post_office_id")); id != uuid.Nil {
			f.PostOfficeIDs = []uuid.UUID{id}
		}
		if overdue := queryBool(c, &p, "overdue"); overdue != nil {
			f.Overdue = *overdue
		}
		if err := p.Err(); err != nil {
			return err
		}
		now := time.Now()
		return answerList(c, "complaints.csv", page, func(ctx context.Context, page domain.Page) (domain.List[complaint.Complaint], error) {
			return svc.List(ctx, f, page)
		}, toComplaintDTO(now))
	}).doc("The complaints about the dossiers of the caller's post offices (an admin's: every office's), newest first").params(paging...).
		params(enumParam("state", "only complaints in this state", texts(complaint.States...)...),
			param("overdue", false, "only the open ones past their deadline (true)"),
			param("post_office_id", "", "only this post office's (a UUID)")).
		answers(fiber.StatusOK, listBody[complaintDTO]{}).alsoAnswers(mimeCSV)
	rt.get("/complaints/:key", office, byID("complaint", func(c *fiber.Ctx, id uuid.UUID) error {
		found, err := svc.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toComplaintDTO(time.Now())(found))
	})).doc("A complaint about a dossier of one of the caller's post offices").answers(fiber.StatusOK, complaintDTO{})
	rt.post("/complaints/:key/answer", office, byID("complaint", func(c *fiber.Ctx, id uuid.UUID) error {
		var body complaintAnswerDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		answered, err := svc.Answer(c.UserContext(), id, body.Answer)
		if err != nil {
			return err
		}
		return c.JSON(toComplaintDTO(time.Now())(answered))
	})).doc("Answer an open complaint; the applicant sees the answer on the tracking page").takes(complaintAnswerDTO{}).
		answers(fiber.StatusOK, complaintDTO{}).fails(complaint.CodeWrongState)
	rt.post("/complaints/:key/close", office, byID("complaint", func(c *fiber.Ctx, id uuid.UUID) error {
		closed, err := svc.Close(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toComplaintDTO(time.Now())(closed))
	})).doc("Close an answered complaint").answers(fiber.StatusOK, complaintDTO{}).fails(complaint.CodeWrongState)

	rt.get("/reports/complaints", office, func(c *fiber.Ctx) error {
		return answerReport(c, "complaints", true, func(from, to time.Time, by report.Grouping, office uuid.UUID) ([]complaint.ReportRow, error) {
			return svc.Report(c.UserContext(), from, to, by, office)
		}, toComplaintRowDTO)
	}).doc("The complaints filed in [from, to), per post office or category: how many of each category, answered before and after their deadline, still open past it, and the mean time to answer").
		params(period...).params(enumParam("by", "what each row is per (default post_office)", string(report.ByPostOffice), string(complaint.ByCategory))).
		answers(fiber.StatusOK, reportBody[complaintRowDTO]{}).alsoAnswers(mimeCSV)
}

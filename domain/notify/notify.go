// Package notify turns what happens to a dossier into messages for its applicant, in
// Vietnamese, and hands them to a channel (an SMS gateway, Zalo's template messages, or
// the log). Messages are sent from background jobs that the state change enqueued in its
// own transaction; a job that fails is retried with backoff, and one notice of a dossier
// waits in the queue at most once.
//
// Imports allowed: the standard library, courierd/domain and its dossier package.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"courierd/domain/dossier"
)

// Message is one notice to an applicant, ready for a channel.
type Message struct {
	Phone   string // personal data: channels send to it and never log it
	Notice  dossier.Notice
	Receipt string
	// Text is the whole message, for channels that send text (SMS).
	Text string
	// Params are the same facts by name, for channels that fill a registered template
	// (Zalo ZNS): receipt_code, and per notice date, window_start, window_end, link.
	Params map[string]string
	// Ref names the notice of one dossier: a channel's idempotency key, so that a retried
	// job does not reach the applicant twice where the channel honours it.
	Ref string
}

// Channel sends messages. An error is retried later, except Refused.
type Channel interface {
	Send(ctx context.Context, m Message) error
}

// Refused is a message a channel turned down for good (a phone without Zalo, a template
// not registered): retrying will not help, so the notice ends there (a fallback channel may
// try instead).
type Refused struct{ Reason string }

func (r Refused) Error() string { return "refused: " + r.Reason }

// Notifier composes messages and sends them through a channel: the dossier service's
// notifier in production.
type Notifier struct {
	Channel Channel
	// OnRefused hears of notices no channel would take, by reference (never the phone).
	OnRefused func(ref string, notice dossier.Notice, reason string)
	// TrackURL is the public page where the applicant follows the dossier and chooses how
	// to receive the result, e.g. https://buudien.example.vn/tra-cuu.
	TrackURL string
}

func (n Notifier) Notify(ctx context.Context, d dossier.Dossier, tasks []dossier.Task, notice dossier.Notice) error {
	m, ok := Compose(d, tasks, notice, n.TrackURL)
	if !ok {
		return nil // nothing to say about this notice
	}
	err := n.Channel.Send(ctx, m)
	var refused Refused
	if errors.As(err, &refused) {
		if n.OnRefused != nil {
			n.OnRefused(m.Ref, notice, refused.Reason)
		}
		return nil
	}
	return err
}

// window is how wide a delivery's announced arrival is, around the planned time.
const window = 30 * time.Minute

// Compose writes the message for a notice, or reports there is none.
func Compose(d dossier.Dossier, tasks []dossier.Task, notice dossier.Notice, trackURL string) (Message, bool) {
	code := d.Receipt.String()
	m := Message{Phone: d.Applicant.Phone, Notice: notice, Receipt: code, Params: map[string]string{"receipt_code": code},
		Ref: d.ID.String() + "/" + string(notice)}
	link := trackURL + "?ma=" + string(d.Receipt)
	day := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format("02/01/2006")
	}
	switch notice {
	case dossier.NoticePickupScheduled:
		var date string
		for _, t := range tasks {
			if t.Kind == dossier.TaskPickup {
				date = day(t.ScheduledFor)
			}
		}
		m.Params["date"] = date
		m.Text = fmt.Sprintf("Bưu điện sẽ đến nhận hồ sơ %s vào ngày %s. Vui lòng chuẩn bị đủ giấy tờ và mang theo CCCD.", code, date)
	case dossier.NoticeHandedToAgency:
		m.Params["date"] = day(d.AppointmentDate)
		m.Text = fmt.Sprintf("Hồ sơ %s đã được chuyển đến cơ quan giải quyết.", code)
		if d.AppointmentDate != nil {
			m.Text += " Ngày hẹn trả kết quả: " + m.Params["date"] + "."
		}
	case dossier.NoticeResultReady:
		m.Params["link"] = link
		m.Text = fmt.Sprintf("Hồ sơ %s đã có kết quả. Chọn nhận tại nhà hoặc tại bưu cục: %s", code, link)
	case dossier.NoticeOutForDelivery:
		m.Text = fmt.Sprintf("Bưu tá đang mang kết quả hồ sơ %s đến cho anh/chị.", code)
		for _, t := range tasks {
			if t.Kind == dossier.TaskDelivery && t.PlannedArrival != nil {
				from, to := t.PlannedArrival.Add(-window).In(dossier.Vietnam), t.PlannedArrival.Add(window).In(dossier.Vietnam)
				m.Params["window_start"], m.Params["window_end"] = from.Format("15:04"), to.Format("15:04")
				m.Text = fmt.Sprintf("Bưu tá đang mang kết quả hồ sơ %s đến, dự kiến từ %s đến %s hôm nay. Vui lòng mang theo CCCD khi nhận.",
					code, m.Params["window_start"], m.Params["window_end"])
			}
		}
	case dossier.NoticeDelivered:
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s đã được giao. Cảm ơn anh/chị đã sử dụng dịch vụ bưu chính công ích.", code)
	case dossier.NoticeDeliveryFailed:
		m.Params["link"] = link
		m.Text = fmt.Sprintf("Bưu điện chưa giao được kết quả hồ sơ %s. Bưu điện sẽ liên hệ hẹn lại; anh/chị cũng có thể chọn lịch khác: %s", code, link)
	case dossier.NoticeHeld:
		m.Params["date"] = day(d.HeldUntil)
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s đang được giữ tại bưu cục đến ngày %s. Vui lòng mang theo CCCD khi đến nhận.", code, m.Params["date"])
	case dossier.NoticeReturned:
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s không được nhận trong thời hạn nên đã được chuyển trả về cơ quan giải quyết.", code)
	default:
		return Message{}, false
	}
	return m, true
}

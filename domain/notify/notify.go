// Package notify turns what happens to a dossier into messages for its applicant, in
// Vietnamese, and hands them to a channel (an SMS gateway, Zalo's template messages, or
// the log). Messages are sent from background jobs that the state change enqueued in its
// own transaction; a job that fails is retried with backoff, and one notice of a dossier
// waits in the queue at most once. ZaloTokens (tokens.go) keeps the access token of Zalo's
// template messages fresh.
//
// Imports allowed: the standard library, courierd/domain and its dossier package.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"courierd/domain"
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
	// Prefer is the applicant's channel, where the configured channels offer a choice.
	Prefer dossier.ChannelPreference
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

func (n Notifier) Notify(ctx context.Context, d dossier.Dossier, tasks []dossier.Task, notice dossier.Notice, how dossier.Sending) error {
	m, ok := Compose(d, tasks, notice, n.TrackURL)
	if !ok {
		return nil // nothing to say about this notice
	}
	m.Prefer = how.Prefer
	if how.Key != "" {
		// A second trip's notice (a new door code) is not the first's retry.
		m.Ref += "/" + how.Key
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

// booked fills the date and window of a kind's booked stop and says it in words: "vào
// ngày 25/11/2026, từ 08:00 đến 10:00".
func booked(params map[string]string, tasks []dossier.Task, kind dossier.TaskKind) string {
	for _, t := range tasks {
		if t.Kind != kind || t.ScheduledFor == nil {
			continue
		}
		params["date"] = t.ScheduledFor.Format("02/01/2006")
		when := "vào ngày " + params["date"]
		if t.Slot != nil {
			params["window_start"], params["window_end"] = t.Slot.Times()
			when += fmt.Sprintf(", từ %s đến %s", params["window_start"], params["window_end"])
		}
		return when
	}
	return ""
}

// arrival fills the window around a kind's planned arrival and says it in words: "từ
// 09:30 đến 10:30"; false without a plan.
func arrival(params map[string]string, tasks []dossier.Task, kind dossier.TaskKind) (string, bool) {
	for _, t := range tasks {
		if t.Kind == kind && t.PlannedArrival != nil {
			from, to := t.PlannedArrival.Add(-window).In(domain.Vietnam), t.PlannedArrival.Add(window).In(domain.Vietnam)
			params["window_start"], params["window_end"] = from.Format("15:04"), to.Format("15:04")
			return fmt.Sprintf("từ %s đến %s", params["window_start"], params["window_end"]), true
		}
	}
	return "", false
}

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
		when := booked(m.Params, tasks, dossier.TaskPickup)
		m.Text = fmt.Sprintf("Bưu điện sẽ đến nhận hồ sơ %s %s. Vui lòng chuẩn bị đủ giấy tờ và mang theo CCCD.", code, when)
	case dossier.NoticePickupOnTheWay:
		m.Text = fmt.Sprintf("Bưu tá đang đến nhận hồ sơ %s.", code)
		if w, ok := arrival(m.Params, tasks, dossier.TaskPickup); ok {
			m.Text = fmt.Sprintf("Bưu tá đang đến nhận hồ sơ %s, dự kiến %s hôm nay.", code, w)
		}
	case dossier.NoticeDeliveryBooked:
		when := booked(m.Params, tasks, dossier.TaskDelivery)
		m.Params["link"] = link
		m.Text = fmt.Sprintf("Bưu điện sẽ giao kết quả hồ sơ %s %s. Đổi lịch: %s", code, when, link)
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
		if w, ok := arrival(m.Params, tasks, dossier.TaskDelivery); ok {
			m.Text = fmt.Sprintf("Bưu tá đang mang kết quả hồ sơ %s đến, dự kiến %s hôm nay.", code, w)
		}
		if c := d.Handover.Code; c != "" {
			// The code proves at the door that the result reaches the right person.
			m.Params["handover_code"] = c
			m.Text += fmt.Sprintf(" Mã nhận hàng: %s (chỉ đọc cho bưu tá khi nhận).", c)
		} else {
			m.Text += " Vui lòng mang theo CCCD khi nhận."
		}
	case dossier.NoticeDelivered:
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s đã được giao. Cảm ơn anh/chị đã sử dụng dịch vụ bưu chính công ích.", code)
	case dossier.NoticeDeliveryFailed:
		m.Params["link"] = link
		m.Text = fmt.Sprintf("Bưu điện chưa giao được kết quả hồ sơ %s. Bưu điện sẽ liên hệ hẹn lại; anh/chị cũng có thể chọn lịch khác: %s", code, link)
	case dossier.NoticeHeld:
		m.Params["date"] = day(d.HeldUntil)
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s đang được giữ tại bưu cục đến ngày %s. Vui lòng mang theo CCCD khi đến nhận.", code, m.Params["date"])
	case dossier.NoticeHoldExpired:
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s đã hết thời hạn giữ tại bưu cục và sẽ được chuyển trả về cơ quan giải quyết; anh/chị vẫn có thể đến nhận trước khi chuyển trả.", code)
	case dossier.NoticeReturned:
		m.Text = fmt.Sprintf("Kết quả hồ sơ %s không được nhận trong thời hạn nên đã được chuyển trả về cơ quan giải quyết.", code)
	default:
		return Message{}, false
	}
	return m, true
}

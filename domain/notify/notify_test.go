package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain/dossier"
	"courierd/domain/notify"
)

func sample() (dossier.Dossier, []dossier.Task) {
	held := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	appointment := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	pickupDay := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	arrival := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC) // 10:00 in Vietnam
	d := dossier.Dossier{ID: uuid.New(), Receipt: "7K3M9QX2D",
		Applicant: dossier.Applicant{Name: "Trần Thị Mai", Phone: "0913456789", Address: "số 12, đường Lê Hồng Phong"}}
	d.AppointmentDate, d.HeldUntil = &appointment, &held
	deliveryDay := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	d.Handover.Code = "482913"
	return d, []dossier.Task{{Kind: dossier.TaskPickup, ScheduledFor: &pickupDay, Slot: &dossier.Slot{StartMin: 8 * 60, EndMin: 10 * 60}, PlannedArrival: &arrival},
		{Kind: dossier.TaskDelivery, ScheduledFor: &deliveryDay, Slot: &dossier.Slot{StartMin: 14 * 60, EndMin: 16 * 60}, PlannedArrival: &arrival}}
}

// TestCompose: every notice has a Vietnamese message naming the receipt code, with its
// date, link or arrival window, and none names the applicant or their address.
func TestCompose(t *testing.T) {
	d, tasks := sample()
	for notice, want := range map[dossier.Notice][]string{
		dossier.NoticePickupScheduled: {"đến nhận hồ sơ", "vào ngày 25/11/2026, từ 08:00 đến 10:00"},
		dossier.NoticePickupOnTheWay:  {"đang đến nhận hồ sơ", "từ 09:30 đến 10:30"},
		dossier.NoticeDeliveryBooked:  {"sẽ giao kết quả", "vào ngày 30/11/2026, từ 14:00 đến 16:00", "tra-cuu?ma="},
		dossier.NoticeHandedToAgency:  {"cơ quan giải quyết", "03/12/2026"},
		dossier.NoticeResultReady:     {"đã có kết quả", "https://buudien.example.vn/tra-cuu?ma=7K3M9QX2D"},
		dossier.NoticeOutForDelivery:  {"Bưu tá đang mang kết quả", "từ 09:30 đến 10:30", "Mã nhận hàng: 482913"},
		dossier.NoticeDelivered:       {"đã được giao"},
		dossier.NoticeDeliveryFailed:  {"chưa giao được", "tra-cuu?ma="},
		dossier.NoticeHeld:            {"được giữ tại bưu cục", "08/12/2026"},
		dossier.NoticeHoldExpired:     {"hết thời hạn giữ", "vẫn có thể đến nhận"},
		dossier.NoticeReturned:        {"chuyển trả về cơ quan"},
	} {
		m, ok := notify.Compose(d, tasks, notice, "https://buudien.example.vn/tra-cuu")
		if !ok || m.Phone != "0913456789" || m.Params["receipt_code"] != "7K3M-9QX2-D" || !strings.Contains(m.Text, "7K3M-9QX2-D") {
			t.Fatalf("%s: %+v", notice, m)
		}
		for _, w := range want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s: %q lacks %q", notice, m.Text, w)
			}
		}
		for _, personal := range []string{"Trần", "Lê Hồng Phong", "0913"} {
			if strings.Contains(m.Text, personal) {
				t.Errorf("%s names %q: %s", notice, personal, m.Text)
			}
		}
		if !utf8.ValidString(m.Text) || m.Ref != d.ID.String()+"/"+string(notice) {
			t.Errorf("%s: text or ref malformed: %+v", notice, m)
		}
	}
	for _, n := range dossier.Notices {
		if _, ok := notify.Compose(d, tasks, n, ""); !ok {
			t.Errorf("notice %s has no message", n)
		}
	}
	if _, ok := notify.Compose(d, tasks, "no_such_notice", ""); ok {
		t.Fatal("an unknown notice has a message")
	}
	// Without a door code, the delivery notice asks for the ID card instead.
	d.Handover.Code = ""
	if m, _ := notify.Compose(d, tasks, dossier.NoticeOutForDelivery, ""); strings.Contains(m.Text, "Mã nhận") || !strings.Contains(m.Text, "CCCD") {
		t.Fatalf("no code, yet: %s", m.Text)
	}
	// Without a planned arrival, the delivery notice gives no window.
	if m, _ := notify.Compose(d, tasks[:1], dossier.NoticeOutForDelivery, ""); strings.Contains(m.Text, "dự kiến") || m.Params["window_start"] != "" {
		t.Fatalf("a window without a plan: %s", m.Text)
	}
}

type recorder struct{ sent []notify.Message }

func (r *recorder) Send(_ context.Context, m notify.Message) error {
	r.sent = append(r.sent, m)
	return nil
}

func TestNotifierSendsThroughItsChannel(t *testing.T) {
	d, tasks := sample()
	var r recorder
	n := notify.Notifier{Channel: &r, TrackURL: "https://x.vn/t"}
	if err := n.Notify(context.Background(), d, tasks, dossier.NoticeDelivered, dossier.Sending{Prefer: dossier.PreferSMS, Key: "42"}); err != nil ||
		len(r.sent) != 1 || r.sent[0].Notice != dossier.NoticeDelivered || r.sent[0].Ref != d.ID.String()+"/delivered/42" || r.sent[0].Prefer != dossier.PreferSMS {
		t.Fatalf("sent %+v, %v", r.sent, err)
	}
	if err := n.Notify(context.Background(), d, tasks, "no_such_notice", dossier.Sending{Prefer: dossier.PreferAny}); err != nil || len(r.sent) != 1 {
		t.Fatalf("an unknown notice was sent: %+v, %v", r.sent, err)
	}
}

type refusing struct{}

func (refusing) Send(context.Context, notify.Message) error { return notify.Refused{Reason: "no Zalo"} }

// TestRefusalEndsTheNotice: a message every channel refuses for good is reported by
// reference and the job ends; retrying would not help.
func TestRefusalEndsTheNotice(t *testing.T) {
	d, tasks := sample()
	var heard []string
	n := notify.Notifier{Channel: refusing{}, OnRefused: func(ref string, _ dossier.Notice, reason string) { heard = append(heard, ref+" "+reason) }}
	if err := n.Notify(context.Background(), d, tasks, dossier.NoticeHeld, dossier.Sending{Prefer: dossier.PreferAny}); err != nil || len(heard) != 1 || !strings.HasSuffix(heard[0], "no Zalo") {
		t.Fatalf("refusal: %v, heard %v", err, heard)
	}
}

package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"courierd/domain"
)

// grouped writes a whole number as the console does in a language: 1.234 in Vietnamese,
// 1,234 in English.
func grouped(n int64, lang string) string {
	sep := "."
	if lang == "en" {
		sep = ","
	}
	s := strconv.FormatInt(max(n, -n), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + sep + s[i:]
	}
	if n < 0 {
		s = "-" + s
	}
	return s
}

// reportRows is a report view's table on the page: each row's key and its cells' text.
func reportRows(t testing.TB, b *browser, view string) map[string][]string {
	t.Helper()
	return eval[map[string][]string](t, b, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll('[data-view=%q] tbody tr')].map((tr) =>
		[tr.dataset.key, [...tr.querySelectorAll('td')].map((td) => td.textContent)]))`, view))
}

// shownDate is a day as the console writes it in a language.
func shownDate(day, lang string) string {
	d, _ := time.Parse(time.DateOnly, day)
	if lang == "en" {
		return d.Format("2 Jan 2006")
	}
	return d.Format("02/01/2006")
}

// reportsScreenshot shows the reports in a window tall enough for most of them.
func reportsScreenshot(t testing.TB, b *browser, name string) {
	t.Helper()
	b.run(t, "a tall window", chromedp.EmulateViewport(1366, 2200))
	screenshot(t, b, name)
	b.run(t, "the window again", chromedp.EmulateViewport(1366, 900))
}

// TestReportsInBrowser: an admin opens the reports over the demo's played history; each
// table under a chart holds the API's own figures for the period, grouping and office
// chosen, written the language's way; the export saves the API's CSV under its name; a
// period the server refuses is said in the console's words; English leaves no Vietnamese
// label and no raw key.
func TestReportsInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.playDemo(t, 150)
	// Beside the demo's history: dossiers with late legs and failed attempts, a courier's
	// track, and money at the door and by the bank, of generated kinds.
	rng := rand.New(rand.NewPCG(24, 3))
	reasons := []string{"not_at_home", "refused", "wrong_address", "identity_not_proven", "other"}
	for range 4 + rng.IntN(4) {
		h.walk(t, flowPlan{path: []flowPath{failedThenPost, failedTwice, atCounter, byPost}[rng.IntN(4)],
			latePickup: rng.IntN(2) == 0, lateAgency: rng.IntN(3) == 0, lateDelivery: rng.IntN(2) == 0,
			reasons: []string{reasons[rng.IntN(len(reasons))], reasons[rng.IntN(len(reasons))]}})
	}
	courier01 := h.as("courier01@device").with("X-App-Version", "1.4.2")
	if r := courier01.do(t, http.MethodPost, "/v1/device/locations", points(1, 20+rng.IntN(40), func(i int) time.Time { return time.Now().Add(time.Duration(i-90) * time.Minute) })); r.status != http.StatusOK {
		t.Fatalf("a courier's track: %d %s", r.status, r.raw)
	}
	m := newMoneyAPI(h)
	for i := range 2 + rng.IntN(3) {
		id, receipt, due := m.assignedDossier(t, "")
		if i%2 == 0 {
			if r := m.push(t, "courier01", "task.collect_fee.v1", taskOfKind(h, t, id, "pickup"), fmt.Sprintf(`{"amount_vnd":%d,"method":"cash","receipt_number":"R-%d"}`, due, i)); r["status"] != "applied" {
				t.Fatalf("a fee at the door: %v", r)
			}
		} else if r := m.transfer(t, transferBody(fmt.Sprintf("FT-%d", i), receipt, due, h.clock.now())); r.status != http.StatusCreated {
			t.Fatalf("a transfer: %d %s", r.status, r.raw)
		}
	}
	admin := h.as("admin")
	today := domain.DateOf(time.Now())
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	base := h.listen(t)
	b := newBrowser(t, 1366, 900, false)
	downloads := t.TempDir()
	b.run(t, "let downloads in", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	b.run(t, "open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the console is open", `!document.getElementById('toolbar').hidden && document.getElementById('office').options.length > 0`)
	b.run(t, "open the reports", chromedp.Click(chromedp.CSS("#view-reports")))
	loaded := `document.querySelectorAll('.rp-report').length === 4 && !document.querySelector('.rp-report[aria-busy]') && !!document.querySelector('.rp-report h3')`
	b.waitFor(t, "the reports are drawn", loaded)
	// This month by default: the request's period is the month, to the first of the next.
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	if q := eval[string](t, b, `document.querySelector('[data-report=flow]').dataset.query`); !strings.Contains(q, "from="+month.Format(time.DateOnly)+"&to="+month.AddDate(0, 1, 0).Format(time.DateOnly)) {
		t.Fatalf("this month's request: %q", q)
	}

	// choose sets a filter as a person does, and waits for the reports asked again.
	choose := func(id, value string) {
		t.Helper()
		eval[bool](t, b, fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; return s.dispatchEvent(new Event('change')); })()`, id, value))
		b.waitFor(t, id+" = "+value, loaded)
	}
	words := consoleWords(t)
	officeNames := map[string]string{}
	for _, o := range h.demo.PostOffices {
		officeNames[o.ID.String()] = o.Code + " · " + o.Name
	}
	// same holds the page's tables to the API's answer for the query the page sent.
	same := func(lang string) (flowRows int) {
		t.Helper()
		queries := eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('.rp-report')].map((s) => [s.dataset.report, s.dataset.query]))`)
		answer := func(report string) []map[string]any {
			r := admin.do(t, http.MethodGet, "/v1/reports/"+report+queries[report], "")
			if r.status != http.StatusOK {
				t.Fatalf("%s%s: %d %s", report, queries[report], r.status, r.raw)
			}
			var items []map[string]any
			for _, item := range r.body["items"].([]any) {
				items = append(items, item.(map[string]any))
			}
			return items
		}
		n := func(v any) string { return grouped(int64(v.(float64)), lang) }
		check := func(view string, want map[string][]string) {
			t.Helper()
			got := reportRows(t, b, view)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s (%s): the page shows\n%v\nthe API answers\n%v", view, lang, got, want)
			}
		}
		flow := answer("flow")
		want := map[string][]string{}
		legs := map[string][2]int64{}
		for _, r := range flow {
			want[r["key"].(string)] = []string{n(r["picked_up"]), n(r["handed_to_agency"]), n(r["delivered_by_post"]), n(r["collected_at_counter"]), n(r["collected_at_agency"])}
			for _, leg := range []string{"pickup", "agency", "delivery"} {
				l := r[leg+"_leg"].(map[string]any)
				legs[leg] = [2]int64{legs[leg][0] + int64(l["on_time"].(float64)), legs[leg][1] + int64(l["late"].(float64))}
			}
		}
		if len(flow) > 0 {
			check("flow-volume", want)
			want = map[string][]string{}
			for leg, l := range legs {
				want[leg] = []string{grouped(l[0], lang), grouped(l[1], lang)}
			}
			check("flow-legs", want)
		}
		// Each late leg in words: which leg, its days, the reasons on the way.
		late := answer("late")
		if len(late) > 0 {
			want = map[string][]string{}
			for _, l := range late {
				var why []string
				for _, r := range l["reasons"].([]any) {
					why = append(why, words[lang]["fail_"+r.(string)])
				}
				if len(why) == 0 {
					why = []string{"—"}
				}
				want[l["dossier_id"].(string)+":"+l["leg"].(string)] = []string{words[lang]["leg_"+l["leg"].(string)],
					shownDate(l["due"].(string), lang), shownDate(l["ended"].(string), lang), strings.Join(why, ", "), officeNames[l["post_office_id"].(string)]}
			}
			check("late-list", want)
		}
		if couriers := answer("couriers"); len(couriers) > 0 {
			want = map[string][]string{}
			for _, r := range couriers {
				want[r["courier_id"].(string)] = []string{n(r["stops_done"]), n(r["stops_failed"])}
			}
			check("couriers-stops", want)
		}
		if cash := answer("cash"); len(cash) > 0 {
			days := map[string][3]int64{}
			for _, r := range cash {
				d := days[r["date"].(string)]
				days[r["date"].(string)] = [3]int64{d[0] + int64(r["cash_vnd"].(float64)), d[1] + int64(r["transfer_vnd"].(float64)), d[2] + int64(r["bank_vnd"].(float64))}
			}
			want = map[string][]string{}
			for d, v := range days {
				want[d] = []string{grouped(v[0], lang), grouped(v[1], lang), grouped(v[2], lang)}
			}
			check("cash-days", want)
		}
		for _, report := range []string{"flow", "late", "couriers", "cash"} {
			empty := b.count(t, fmt.Sprintf("[data-report=%s] > .rp-empty", report)) == 1
			if none := len(answer(report)) == 0; empty != none {
				t.Fatalf("%s: the page says empty %v, the API has no rows %v", report, empty, none)
			}
		}
		return len(flow)
	}

	// The demo's history is over the last days: the last 30 show it.
	choose("rp-preset", "last_30_days")
	if q := eval[string](t, b, `document.querySelector('[data-report=late]').dataset.query`); q != "?from="+day(-29)+"&to="+day(1) {
		t.Fatalf("the last 30 days asked as %q", q)
	}
	if same("vi") == 0 {
		t.Fatal("the demo's history shows no flow in the last 30 days")
	}
	if b.count(t, "[data-report=flow] canvas[role=img][aria-label]") != 4 || b.count(t, "[data-report=couriers] canvas") == 0 {
		t.Fatalf("the flow's four charts are not drawn: %d", b.count(t, "[data-report=flow] canvas"))
	}
	b.audit(t)
	reportsScreenshot(t, b, "console-reports")

	// Each grouping's rows are the API's for it.
	for _, by := range []string{"courier", "procedure", "agency", "post_office"} {
		choose("rp-by", by)
		if q := eval[string](t, b, `document.querySelector('[data-report=flow]').dataset.query`); !strings.Contains(q, "by="+by) {
			t.Fatalf("grouped by %s, asked %q", by, q)
		}
		same("vi")
	}
	// One office: the rows are that office's.
	office := h.demo.PostOffices[0].ID.String()
	choose("rp-office", office)
	if q := eval[string](t, b, `document.querySelector('[data-report=cash]').dataset.query`); !strings.Contains(q, "post_office_id="+office) {
		t.Fatalf("one office asked as %q", q)
	}
	same("vi")
	if keys := reportRows(t, b, "flow-volume"); len(keys) > 1 || (len(keys) == 1 && keys[office] == nil) {
		t.Fatalf("one office's flow shows other rows: %v", keys)
	}

	// The export is the API's CSV, saved under the name the server gives it.
	query := eval[string](t, b, `document.querySelector('[data-report=flow]').dataset.query`)
	csv := admin.with("Accept", "text/csv").do(t, http.MethodGet, "/v1/reports/flow"+query, "")
	name := regexp.MustCompile(`filename="([^"]+)"`).FindStringSubmatch(csv.header.Get("Content-Disposition"))
	if csv.status != http.StatusOK || name == nil {
		t.Fatalf("the flow's CSV: %d %v", csv.status, csv.header)
	}
	b.run(t, "export the flow", chromedp.Click(chromedp.CSS("[data-report=flow] .rp-export")))
	saved := filepath.Join(downloads, name[1])
	b.waitFor(t, "the file is saved", fmt.Sprintf(`document.querySelector('[data-report=flow] .rp-export').dataset.saved === %q`, name[1]))
	var file []byte
	for range 100 {
		if data, err := os.ReadFile(saved); err == nil && len(data) == len(csv.raw) {
			file = data
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(file) != csv.raw {
		entries, _ := os.ReadDir(downloads)
		t.Fatalf("the saved %s (%d bytes; the folder holds %v) is not the API's CSV (%d bytes)", saved, len(file), entries, len(csv.raw))
	}

	// A period with nothing in it says so, without empty charts.
	b.run(t, "an empty period", chromedp.SetValue(chromedp.CSS("#rp-from"), "01/01/2020"), chromedp.SetValue(chromedp.CSS("#rp-to"), "31/01/2020"),
		chromedp.Click(chromedp.CSS("#rp-filters [type=submit]")))
	b.waitFor(t, "every report says it is empty", `document.querySelectorAll('.rp-report > .rp-empty').length === 4 && !document.querySelector('.rp-report canvas')`)
	if q := eval[string](t, b, `document.querySelector('[data-report=flow]').dataset.query`); !strings.HasPrefix(q, "?from=2020-01-01&to=2020-02-01") {
		t.Fatalf("a typed period asked as %q", q)
	}

	// A period the server refuses: too long, or backwards.
	for _, c := range []struct{ from, to string }{{"01/01/2024", "02/01/2025"}, {"10/03/2026", "09/03/2026"}} {
		b.expect("422 (Unprocessable Entity)")
		b.run(t, "a bad period", chromedp.SetValue(chromedp.CSS("#rp-from"), c.from), chromedp.SetValue(chromedp.CSS("#rp-to"), c.to),
			chromedp.Click(chromedp.CSS("#rp-filters [type=submit]")))
		b.waitFor(t, "the refusal shows", fmt.Sprintf(`document.getElementById('error').textContent === %q`, words["vi"]["rpBadPeriod"]))
	}

	// In English, over the last 30 days again: every label is English, none a key.
	choose("rp-preset", "last_30_days")
	b.run(t, "switch to English", chromedp.Click(chromedp.CSS("#lang-toggle")))
	b.waitFor(t, "the reports speak English", `document.documentElement.lang === 'en' && document.querySelector('[data-report=flow] h3').textContent === 'Dossier flow'`)
	same("en")
	labels := eval[[]string](t, b, `[...document.querySelectorAll('#reports [data-t], #reports h3, #reports figcaption, #reports th[scope=col], #reports button, #reports .rp-empty, #rp-period, #rp-preset option, #rp-by option, #rp-office option[value=""], [data-view=late-list] tbody td:nth-of-type(1), [data-view=late-list] tbody td:nth-of-type(4), [data-view=flow-legs] tbody th, [data-view=flow-failed] tbody th, #view-reports')]
		.map((e) => e.textContent).concat([...document.querySelectorAll('#reports canvas')].map((c) => c.getAttribute('aria-label')))`)
	english := map[string]bool{}
	for _, w := range words["en"] {
		english[w] = true
	}
	rawKey := regexp.MustCompile(`^(rp[A-Z]|rp[A-Za-z]+_|leg_|fail_|err_)`)
	for _, label := range labels {
		if rawKey.MatchString(label) {
			t.Errorf("a raw key shows in English: %q", label)
		}
		for key, vi := range words["vi"] {
			if vi != words["en"][key] && !english[vi] && len([]rune(vi)) > 3 && strings.Contains(label, vi) {
				t.Errorf("Vietnamese %q (%s) left in an English label: %q", vi, key, label)
			}
		}
	}
	b.audit(t)
	reportsScreenshot(t, b, "console-reports-en")
	b.run(t, "a bad period in English", chromedp.SetValue(chromedp.CSS("#rp-from"), "1 Jan 2024"), chromedp.SetValue(chromedp.CSS("#rp-to"), "2 Jan 2025"),
		chromedp.Click(chromedp.CSS("#rp-filters [type=submit]")))
	b.waitFor(t, "the refusal is English", fmt.Sprintf(`document.getElementById('error').textContent === %q`, words["en"]["rpBadPeriod"]))
}

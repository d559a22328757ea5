package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"courierd/api/web"
	"courierd/domain/auth"
	"courierd/domain/demo"
	"courierd/domain/payment"
)

// The pages are tested in Debian's Chromium, headless, against a real courierd and
// PostgreSQL. `make test` installs Chromium where it may (scripts/chromium.sh) and builds
// the pages; where neither can be had, these tests skip, saying why, except under CI,
// where they fail.

// chromiumPath finds the browser: CHROMIUM_PATH, else the usual names on PATH.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "no Chromium found (install Debian's chromium, or set CHROMIUM_PATH; make test does both)")
	return ""
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// pagesBuilt skips unless the binary embeds the built pages.
func pagesBuilt(t testing.TB) {
	t.Helper()
	if _, err := fs.Stat(web.Files(), "console.html"); err != nil {
		missing(t, "the web pages are not built: run make web (make test does)")
	}
}

// browser is a headless Chromium tab whose uncaught exceptions and console errors (a
// failed load, a refusal by the page's Content-Security-Policy) fail the test.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	// bytes counts what crossed the network, compressed, by URL.
	bytes map[string]int64
	// expected are console errors a test causes on purpose, by a part of their text.
	expected []string
}

// expect lets console errors containing text pass: a refusal the test asked for.
func (b *browser) expect(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, text)
}

func newBrowser(t testing.TB, width, height int, mobile bool) *browser {
	t.Helper()
	pagesBuilt(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "vi-VN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{ctx: ctx, bytes: map[string]int64{}}
	if err := chromedp.Do(ctx); err != nil {
		missing(t, fmt.Sprintf("Chromium does not start: %v", err))
	}
	urls := map[network.RequestID]string{}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			urls[e.RequestID] = e.Response.URL
		case *network.EventLoadingFinished:
			b.bytes[urls[e.RequestID]] += int64(e.EncodedDataLength)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s (%s)", m, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	})}
	if mobile {
		steps = append(steps, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	}
	b.run(t, "set the tab up", steps...)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			if !slices.ContainsFunc(b.expected, func(e string) bool { return strings.Contains(p, e) }) {
				t.Errorf("in the page: %s", p)
			}
		}
	})
	return b
}

// run performs steps, failing the test with what was being done.
func (b *browser) run(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, b *browser, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (b *browser) waitFor(t testing.TB, what, condition string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](condition, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		said := eval[string](t, b, `(document.getElementById('error')?.textContent||'')+' | '+(document.getElementById('status')?.textContent||'')`)
		t.Fatalf("waiting until %s (%s): %v; the page says: %s", what, condition, err, said)
	}
}

// text is the text content of the first element matching a CSS selector.
func (b *browser) text(t testing.TB, selector string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ''`, selector))
}

func (b *browser) count(t testing.TB, selector string) int {
	t.Helper()
	return eval[int](t, b, fmt.Sprintf(`document.querySelectorAll(%q).length`, selector))
}

// tabTo presses Tab until the element has the focus, as a keyboard user would.
func (b *browser) tabTo(t testing.TB, selector string) {
	t.Helper()
	for range 40 {
		if eval[bool](t, b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, selector)) {
			return
		}
		b.run(t, "press Tab", chromedp.KeyEvent("\t"))
	}
	t.Fatalf("40 presses of Tab do not reach %s", selector)
}

// audit checks what a page shows against the basics of accessibility: every control
// has a name, every image a text, and text contrasts with what is behind it at least
// 4.5:1 (3:1 when large), the level WCAG 2.1 AA asks.
func (b *browser) audit(t testing.TB) {
	t.Helper()
	faults := eval[[]string](t, b, auditScript)
	for _, f := range faults {
		t.Errorf("accessibility: %s", f)
	}
}

const auditScript = `(() => {
	const faults = [];
	const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
	const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
	for (const e of document.querySelectorAll('input, select, textarea, button, a[href], [role=tab]')) {
		if (!visible(e) || e.type === 'hidden') continue;
		const name = e.getAttribute('aria-label') || (e.labels && [...e.labels].map((l) => l.textContent).join('')) ||
			e.getAttribute('title') || e.getAttribute('alt') || (['BUTTON', 'A'].includes(e.tagName) || e.getAttribute('role') ? e.textContent : '');
		if (!name || !name.trim()) faults.push('no name: ' + describe(e));
	}
	for (const e of document.querySelectorAll('img, [role=img]')) {
		if (visible(e) && !e.getAttribute('alt') && !e.getAttribute('aria-label') && e.getAttribute('alt') !== '') faults.push('no text: ' + describe(e));
	}
	const rgb = (c) => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
	const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
	const background = (e) => {
		for (let n = e; n; n = n.parentElement) {
			const c = rgb(getComputedStyle(n).backgroundColor);
			if ((c[3] ?? 1) > 0.5) return c;
		}
		return [255, 255, 255];
	};
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	const seen = new Set();
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const e = n.parentElement;
		if (!n.textContent.trim() || seen.has(e) || !visible(e) || e.closest('.leaflet-tile-pane, [aria-hidden=true]')) continue;
		seen.add(e);
		const s = getComputedStyle(e);
		if (parseFloat(s.opacity) < 1 || e.closest('button:disabled, select:disabled, input:disabled')) continue;
		const fg = lum(rgb(s.color)), bg = lum(background(e));
		const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
		const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
		if (ratio < (large ? 3 : 4.5)) faults.push('contrast ' + ratio.toFixed(2) + ' for "' + n.textContent.trim().slice(0, 30) + '" in ' + describe(e));
	}
	return faults;
})()`

// moveTo picks a courier (or none: off the route) in a row's menu and presses Move.
func (b *browser) moveTo(t testing.TB, row, courier string) {
	t.Helper()
	eval[chromedp.Void](t, b, fmt.Sprintf(`document.querySelector(%q).value = %q`, row+" select.move", courier))
	b.run(t, "move", chromedp.Click(chromedp.CSS(row+" button.go")))
}

// zoneStops are the stop lists of a demand's zones.
func zoneStops(demand map[string]any) []any {
	var out []any
	for _, z := range demand["zones"].([]any) {
		out = append(out, z.(map[string]any)["stops"])
	}
	return out
}

// screenshotDir is where the test run leaves its screenshots: bin/screens (ignored by
// git) on every run; docs/screens too, which the README shows, with -update.
func screenshot(t testing.TB, b *browser, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{filepath.Join("..", "bin", "screens")}
	if *update {
		dirs = append(dirs, filepath.Join("..", "docs", "screens"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s: %d bytes in %s", name, len(png), strings.Join(dirs, ", "))
}

// TestConsoleInBrowser: a dispatcher logs in, plans the day, sees the routes drawn with
// their stops in order and arrival times, moves a stop down its route and off it and back
// onto another, with the consequences shown at once, publishes, and reads a dossier's
// custody and the bag of the courier holding it.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorkers(t)     // the plan asked from the page is made on the plan workers
	h.watchLive(t)        // the plan's progress reaches the page
	day := h.workToday(t) // the day is planned today: a weekend or a holiday has no plan
	// The demo's dossiers were opened over the last working days: stops of every risk.
	h.playDemo(t, 120)
	office := h.demo.PostOffices[0].ID.String()
	demand := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/demand?post_office_id="+office+"&date="+day, "").body
	// A zone named with markup: the page must show the name as text, never run it.
	zone := h.as("dispatcher").do(t, http.MethodPost, "/v1/post-offices/"+office+"/zones",
		`{"name":"<img src=x id=injected>","area":{"type":"Polygon","coordinates":[[[106.68,10.968],[106.685,10.968],[106.6825,10.972],[106.68,10.968]]]}}`)
	if zone.status != http.StatusCreated {
		t.Fatalf("a zone: %d %s", zone.status, zone.raw)
	}
	// A courier's handheld reported where it is a minute ago.
	courier01 := h.as("courier01@device").with("X-App-Version", "1.4.2")
	if r := courier01.do(t, http.MethodPost, "/v1/device/locations", points(1, 1, func(int) time.Time { return time.Now().Add(-time.Minute) })); r.status != http.StatusOK {
		t.Fatalf("a courier's position: %d %s", r.status, r.raw)
	}
	open := int(demand["total"].(float64))
	base := h.listen(t)
	b := newBrowser(t, 1366, 900, false)

	b.run(t, "open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.expect("401 (Unauthorized) (" + base + "/v1/auth/login)")
	b.run(t, "a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "dispatcher"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the page says so", `document.getElementById('error').textContent === 'Sai tên đăng nhập hoặc mật khẩu.' && !document.getElementById('login-form').hidden`)
	b.run(t, "log in",
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the day's stops are on the map", fmt.Sprintf(`document.querySelectorAll('path.stop').length === %d`, open))
	b.waitFor(t, "the courier is on the map", `document.querySelectorAll('.courier-icon').length === 1`)
	if eval[bool](t, b, `!!document.getElementById('injected') || ![...document.querySelectorAll('.zone-label')].some((l) => l.textContent === '<img src=x id=injected>')`) {
		t.Fatal("a zone's name went into the page as markup")
	}
	// Removed again, and the browser's copy of the outlines (kept five minutes) forgotten,
	// so that the screenshots show the real wards.
	if r := h.as("dispatcher").do(t, http.MethodDelete, "/v1/zones/"+zone.body["id"].(string), ""); r.status >= 300 {
		t.Fatalf("the odd zone is removed again: %d %s", r.status, r.raw)
	}
	b.run(t, "forget cached answers", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	}))
	if summary := b.text(t, "#plan-summary"); !strings.HasPrefix(summary, fmt.Sprintf("%d điểm", open)) {
		t.Fatalf("the day's %d open stops: %q", open, summary)
	}
	// Each stop has its risk's colour, and the legend says each risk in words.
	risks := map[string]int{}
	for _, group := range append([]any{demand["unzoned"], demand["outside_area"]}, zoneStops(demand)...) {
		for _, st := range group.([]any) {
			risks[st.(map[string]any)["risk"].(string)]++
		}
	}
	for risk, n := range risks {
		if got := b.count(t, "path.stop.risk-fill-"+risk); got != n {
			t.Fatalf("%d stops drawn %s, the day has %d", got, risk, n)
		}
	}
	for _, risk := range []string{"Quá hạn", "Hạn hôm nay", "Có nguy cơ trễ", "Đúng tiến độ"} {
		if !strings.Contains(b.text(t, "#legend"), risk) {
			t.Fatalf("the legend names %q: %q", risk, b.text(t, "#legend"))
		}
	}

	// The session outlives a reload, and an access token that has expired is renewed
	// with the refresh token; from the top of the page the keyboard alone reaches "plan
	// the day" (past the link that skips the map) and starts it.
	eval[chromedp.Void](t, b, `sessionStorage.setItem('console-token', 'expired')`)
	b.expect("401 (Unauthorized) (" + base + "/v1/me)")
	b.run(t, "reload", chromedp.Reload())
	b.waitFor(t, "the stops are back", fmt.Sprintf(`document.querySelectorAll('path.stop').length === %d`, open))
	b.tabTo(t, "#plan")
	// While the plan is made, the page records where each progress it shows came from: at
	// least one on the live stream, not from reading the plan.
	eval[chromedp.Void](t, b, `window.progressFrom = new Set();
		new MutationObserver(() => window.progressFrom.add(document.getElementById('plan-progress').dataset.from))
			.observe(document.getElementById('plan-progress'), { attributes: true, attributeFilter: ['data-from'] });`)
	b.waitFor(t, "the page follows the live stream", `document.getElementById('live-state').dataset.state === 'open'`)
	b.run(t, "plan the day from the keyboard", chromedp.KeyEvent("\r"))
	b.waitFor(t, "routes are drawn", `document.getElementById('plan-state').textContent === 'Bản nháp' && document.querySelectorAll('#routes .route li').length > 0`)
	if from := eval[[]string](t, b, `[...window.progressFrom]`); !slices.Contains(from, "live") {
		t.Fatalf("the page showed no progress from the live stream (only %v)", from)
	}
	plans := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans?post_office_id="+office+"&date="+day, "")
	plan := plans.body["items"].([]any)[0].(map[string]any)
	planID := plan["id"].(string)
	if n := b.count(t, "#routes .route li[data-task]"); n != int(plan["planned_stops"].(float64)) {
		t.Fatalf("%d stops on the page, %v in the plan", n, plan["planned_stops"])
	}
	// The page shows each route's stops in the plan's order with the plan's arrival times.
	shown := eval[string](t, b, `[...document.querySelectorAll('#routes .route')].map(r =>
		r.dataset.courier + ':' + [...r.querySelectorAll('li[data-task]')].map(li => ' ' + li.dataset.task).join('')).join('\n')`)
	if got, want := shown, routeOrder(plan); got != want {
		t.Fatalf("routes on the page:\n%s\nin the plan:\n%s", got, want)
	}
	if eta := b.text(t, "#routes .route li .eta"); len(eta) != 5 || eta[2] != ':' {
		t.Fatalf("a stop's arrival as HH:MM: %q", eta)
	}
	trips := 0
	for _, r := range plan["routes"].([]any) {
		trips += int(r.(map[string]any)["trips"].(float64))
	}
	if n := b.count(t, "path.route-line"); n != trips {
		t.Fatalf("each trip drawn on the map: %d lines for %d trips", n, trips)
	}
	b.audit(t)
	// The test server has no routing engine: the plan says it is on straight lines, and why.
	if note := b.text(t, "#plan-travel"); plan["travel"] != "straight_line" || eval[bool](t, b, `document.getElementById('plan-travel').hidden`) || note != "Khoảng cách theo đường chim bay × hệ số (chưa cấu hình công cụ tìm đường)" {
		t.Fatalf("a plan without an engine: travel %v, the page says %q", plan["travel"], note)
	}
	screenshot(t, b, "console-plan")

	// Down one place: the route's order changes on the server, and the feedback says so.
	route := routeOf(plan, firstBusyCourier(plan))
	stops := stopTasks(route)
	courier := route["courier_id"].(string)
	b.run(t, "move the first stop down", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-courier="%s"] li[data-task="%s"] button.down`, courier, stops[0]))))
	b.waitFor(t, "the route is timed again", fmt.Sprintf(`document.querySelector('[data-courier="%s"] li')?.dataset.task === %q`, courier, stops[1]))
	after := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+planID, "").body
	if got := stopTasks(routeOf(after, courier)); len(got) < 2 || got[0] != stops[1] || got[1] != stops[0] {
		t.Fatalf("the server's route after moving down: %v, was %v", got, stops)
	}
	// The feedback is the server's own judgement of the route as it now stands.
	edited := routeOf(after, courier)
	late, overload, overtime := edited["late_stops"].(float64), edited["overload_items"].(float64), edited["over_shift_minutes"].(float64)
	verdict := "khả thi"
	if late+overload+overtime > 0 {
		verdict = "không khả thi"
	}
	want := fmt.Sprintf("%d điểm, %.0f điểm trễ, quá tải %.0f, quá ca %.0f phút. — %s", len(stops), late, overload, overtime, verdict)
	if status := b.text(t, "#status"); !strings.HasSuffix(status, want) {
		t.Fatalf("feasibility feedback after a move: %q, want it to end %q", status, want)
	}
	// The keyboard stays on the moved stop's ↓.
	if !eval[bool](t, b, fmt.Sprintf(`document.activeElement === document.querySelector('[data-courier="%s"] li[data-task="%s"] button.down')`, courier, stops[0])) {
		t.Fatalf("the focus after moving down is on %s", eval[string](t, b, `document.activeElement.outerHTML.slice(0, 120)`))
	}

	// Off the route: the stop waits in the unassigned table with its reason, from where
	// it goes to another courier.
	b.moveTo(t, fmt.Sprintf(`[data-courier="%s"] li[data-task="%s"]`, courier, stops[0]), "")
	b.waitFor(t, "the stop is unassigned", fmt.Sprintf(`!!document.querySelector('#unplanned tr[data-task="%s"]')`, stops[0]))
	b.run(t, "open the unassigned tab", chromedp.Click(chromedp.CSS("#tab-unplanned")))
	if reason := b.text(t, fmt.Sprintf(`#unplanned tr[data-task="%s"] .reason`, stops[0])); reason == "" || reason == "removed" {
		t.Fatalf("an unassigned stop's reason in words: %q", reason)
	}
	screenshot(t, b, "console-unassigned")
	other := h.otherCourier(courier)
	b.moveTo(t, fmt.Sprintf(`#unplanned tr[data-task="%s"]`, stops[0]), other)
	b.waitFor(t, "the stop is on the other route", fmt.Sprintf(`!!document.querySelector('[data-courier="%s"] li[data-task="%s"]')`, other, stops[0]))
	after = h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+planID, "").body
	if got := stopTasks(routeOf(after, other)); len(got) == 0 || got[len(got)-1] != stops[0] {
		t.Fatalf("the other courier's route on the server: %v, want %s last", got, stops[0])
	}

	// Publishing asks first, saying what goes out; cancelled, nothing is sent.
	b.run(t, "publish", chromedp.Click(chromedp.CSS("#publish")))
	b.waitFor(t, "the page asks before publishing", `document.getElementById('confirm').open`)
	routes := 0
	for _, r := range h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+planID, "").body["routes"].([]any) {
		if len(r.(map[string]any)["stops"].([]any)) > 0 {
			routes++
		}
	}
	if ask := b.text(t, "#confirm-text"); !strings.Contains(ask, fmt.Sprintf("gửi %d lộ trình", routes)) || !strings.Contains(ask, "bưu tá") {
		t.Fatalf("the publish question does not say what it sends (%d routes): %q", routes, ask)
	}
	b.run(t, "cancel", chromedp.Click(chromedp.CSS(`#confirm [value=cancel]`)))
	b.waitFor(t, "nothing was published", `!document.getElementById('confirm').open && !document.getElementById('publish').disabled`)
	if state := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+planID, "").body["state"]; state != "draft" {
		t.Fatalf("a cancelled publish left the plan %v", state)
	}
	b.run(t, "publish, confirmed", chromedp.Click(chromedp.CSS("#publish")))
	b.waitFor(t, "the page asks again", `document.getElementById('confirm').open`)
	b.run(t, "go ahead", chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor(t, "the plan is published", `document.getElementById('publish').disabled && document.getElementById('plan-state').textContent === 'Đã công bố'`)
	// The map shows the whole of every route; the office's name is read whole; the day
	// reads day first.
	b.waitFor(t, "the map fits the routes", `(() => { const m = document.getElementById('map').getBoundingClientRect();
		const lines = [...document.querySelectorAll('path.route-line')].map((l) => l.getBoundingClientRect());
		return lines.length > 0 && lines.every((l) => l.left >= m.left - 1 && l.right <= m.right + 1 && l.top >= m.top - 1 && l.bottom <= m.bottom + 1); })()`)
	if !eval[bool](t, b, `(() => { const s = document.getElementById('office'), c = document.createElement('canvas').getContext('2d');
		c.font = getComputedStyle(s).font; return c.measureText(s.selectedOptions[0].text).width < s.clientWidth; })()`) {
		t.Errorf("the office's name is cut off in the header: %q", b.text(t, "#office option:checked"))
	}
	civil, _ := time.Parse(time.DateOnly, day)
	if got, want := eval[string](t, b, `document.getElementById('day').value`), civil.Format("02/01/2006"); got != want {
		t.Errorf("the day reads %q, want %q", got, want)
	}
	published := h.as("dispatcher").do(t, http.MethodGet, "/v1/dispatch/plans/"+planID, "").body
	if published["state"] != "published" {
		t.Fatalf("the plan after publishing from the page: %v", published["state"])
	}
	// Published stops went to their couriers: the moved one to the other courier.
	tasks := h.as("dispatcher").do(t, http.MethodGet, "/v1/tasks?courier_id="+other, "")
	if !strings.Contains(tasks.raw, stops[0]) {
		t.Fatalf("the moved stop assigned to %s: %s", other, tasks.raw)
	}
	// Published stops are out of the open demand: they still show by receipt code, on the
	// map, in every risk's colour.
	b.waitFor(t, "every planned stop reads as a receipt code", `[...document.querySelectorAll('#routes li[data-task] button.link')].every((x) => /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/.test(x.textContent))`)
	planned := int(published["planned_stops"].(float64))
	if n := b.count(t, "#routes li[data-task]"); n != planned {
		t.Fatalf("%d stops listed, the plan has %d", n, planned)
	}
	if n := b.count(t, "path.stop"); n < planned {
		t.Fatalf("%d stop markers after publishing, the plan has %d stops", n, planned)
	}
	for _, risk := range []string{"overdue", "due_today", "at_risk", "on_track"} {
		if b.count(t, "path.stop.risk-fill-"+risk) == 0 {
			t.Errorf("no stop on the map in the %s colour", risk)
		}
	}
	// Planning a published day again asks, saying a new draft comes of it.
	b.run(t, "plan again", chromedp.Click(chromedp.CSS("#plan")))
	b.waitFor(t, "the page asks before a new draft", `document.getElementById('confirm').open && document.getElementById('confirm-text').textContent.includes('bản nháp mới')`)
	b.run(t, "cancel", chromedp.Click(chromedp.CSS(`#confirm [value=cancel]`)))
	b.waitFor(t, "the published plan stays", `!document.getElementById('confirm').open && document.getElementById('plan-state').textContent === 'Đã công bố'`)
	screenshot(t, b, "console-published")

	// A dossier picked up is in its courier's bag: the page shows its custody and the bag.
	picked := h.pickups(t, 1)[0]
	h.mustEvent(t, "dispatcher", picked, `{"event":"assign_pickup","courier_id":"`+courier+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", picked, `{"event":"pick_up"}`, "picked_up")
	receipt := h.do(t, http.MethodGet, "/v1/dossiers/"+picked, "").body["receipt_code"].(string)
	b.run(t, "look the dossier up", chromedp.Click(chromedp.CSS("#tab-dossier")),
		chromedp.SendKeys(chromedp.CSS("#dossier-code"), receipt), chromedp.Click(chromedp.CSS("#dossier-form [type=submit]")))
	b.waitFor(t, "its custody and bag show", `document.querySelectorAll('#custody tbody tr').length >= 1 && !!document.querySelector('#bag')`)
	if bag := b.text(t, "#bag"); !strings.Contains(bag, receipt) {
		t.Fatalf("the courier's bag lists the dossier: %q", bag)
	}
	// The ledger speaks Vietnamese: events by name, an office once named.
	if ev := b.text(t, `#custody td[data-event="pick_up"]`); ev != "Bưu tá nhận hồ sơ" {
		t.Fatalf("the pick-up reads %q in the ledger", ev)
	}
	if ledger := b.text(t, "#dossier"); strings.Contains(strings.ToLower(ledger), "bưu cục bưu cục") || strings.Contains(ledger, "pick_up") {
		t.Fatalf("the ledger has raw or doubled words: %q", ledger)
	}
	screenshot(t, b, "console-custody")
	// A refusal reads in the console's language, not as the server's English.
	b.expect("400 (Bad Request) (" + base + "/v1/dossiers?receipt_code=X!)")
	b.run(t, "look up a malformed code", chromedp.SetValue(chromedp.CSS("#dossier-code"), "x!"), chromedp.Click(chromedp.CSS("#dossier-form [type=submit]")))
	b.waitFor(t, "the refusal shows", `!document.getElementById('error').hidden`)
	refusal := b.text(t, "#error")
	words := consoleWords(t)
	translated := false
	for key, text := range words["vi"] {
		translated = translated || (strings.HasPrefix(key, "err_") && text == refusal)
	}
	if !translated {
		t.Fatalf("the refusal is not the console's Vietnamese: %q", refusal)
	}

	// A tablet held upright: the map above the panel, nothing wider than the screen.
	b.run(t, "turn into a tablet", chromedp.EmulateViewport(820, 1180, chromedp.EmulateTouch))
	b.run(t, "back to the routes", chromedp.Click(chromedp.CSS("#tab-routes")))
	b.waitFor(t, "the map sits above the routes", `(() => { const m = document.getElementById('map').getBoundingClientRect(), r = document.getElementById('side').getBoundingClientRect();
		return m.width > 700 && m.bottom <= r.top + 1 && document.documentElement.scrollWidth <= innerWidth; })()`)
	b.audit(t)
	screenshot(t, b, "console-tablet")

	// In English, the same day.
	b.run(t, "switch to English", chromedp.Click(chromedp.CSS("#lang-toggle")))
	b.waitFor(t, "the console speaks English", `document.documentElement.lang === 'en' && document.getElementById('plan-state').textContent === 'Published' &&
		document.getElementById('legend').textContent.includes('Overdue') && document.getElementById('tab-unplanned').textContent.includes('Unassigned')`)
	if got, want := eval[string](t, b, `document.getElementById('day').value`), civil.Format("2 Jan 2006"); got != want {
		t.Errorf("the day reads %q in English, want %q", got, want)
	}
	// A day typed either way, or stepped, is the same day; one that is no date is refused.
	for _, c := range []struct{ typed, want string }{
		{civil.AddDate(0, 0, 1).Format("02/01/2006"), civil.AddDate(0, 0, 1).Format(time.DateOnly)},
		{civil.Format(time.DateOnly), day},
		{"31/02/2026", day},
	} {
		eval[bool](t, b, fmt.Sprintf(`(() => { const d = document.getElementById('day'); d.value = %q; return d.dispatchEvent(new Event('change')); })()`, c.typed))
		shown, _ := time.Parse(time.DateOnly, c.want)
		b.waitFor(t, "the day "+c.typed, fmt.Sprintf(`location.hash.includes('day=%s') && document.getElementById('day').value === %q`, c.want, shown.Format("2 Jan 2006")))
	}
	if refusal := b.text(t, "#error"); !strings.Contains(refusal, "cannot be read") {
		t.Errorf("a day that is no date: %q", refusal)
	}
	b.run(t, "a day back", chromedp.Click(chromedp.CSS("#day-prev")))
	b.waitFor(t, "the day before", fmt.Sprintf(`location.hash.includes('day=%s')`, civil.AddDate(0, 0, -1).Format(time.DateOnly)))
	b.audit(t)
}

// TestMapTilesInBrowser: with MAP_TILE_URL set, the map draws its tiles from that host
// (the page's policy lets them in, and tells the host which site asks, as keyed tile
// servers want), with the licence's credit, over the project's own outlines.
func TestMapTilesInBrowser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var referers []string
	tile := new(bytes.Buffer)
	if err := png.Encode(tile, image.NewGray(image.Rect(0, 0, 256, 256))); err != nil {
		t.Fatal(err)
	}
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		referers = append(referers, r.Header.Get("Referer"))
		mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tile.Bytes())
	}))
	t.Cleanup(tiles.Close)
	h := newHarness(t, nil)
	h.mapTileURL = tiles.URL + "/{z}/{x}/{y}.png"
	h = h.withRevocations(t, auth.NewRevocationList())
	base := h.listen(t)
	b := newBrowser(t, 1280, 800, false)
	b.run(t, "log in", chromedp.Navigate(base+"/console"),
		chromedp.SendKeys(chromedp.CSS("#username"), "dispatcher"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "tiles are drawn under the outlines", `document.querySelectorAll('#map img.leaflet-tile-loaded').length > 0 &&
		document.querySelectorAll('#map .leaflet-overlay-pane path').length > 0`)
	if credit := b.text(t, ".leaflet-control-attribution"); credit != "© test tiles" {
		t.Fatalf("the tiles' credit: %q", credit)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(referers) == 0 || referers[0] != base+"/" {
		t.Fatalf("the tile host is told the site (%s/), got %q", base, referers)
	}
}

// firstBusyCourier is a courier whose route has at least two stops.
func firstBusyCourier(plan map[string]any) string {
	for _, r := range plan["routes"].([]any) {
		route := r.(map[string]any)
		if len(route["stops"].([]any)) >= 2 {
			return route["courier_id"].(string)
		}
	}
	return ""
}

// TestCitizenPageInBrowser: on a phone, an applicant follows the SMS link, tracks the
// dossier with the phone's last digits, reads it in English too, logs in with a one-time
// code, chooses home delivery in a slot with a pin on the map, sees the VietQR code for
// the fee, and, once the courier sets out, the door code.
func TestCitizenPageInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	h.as("dispatcher").do(t, http.MethodPut, "/v1/post-offices/"+office+"/slots", `{"slots":[{"start":"14:00","end":"16:00","capacity":5}]}`)
	created := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	id, receipt := created["id"].(string), created["receipt_code"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	base := h.listen(t)
	b := newBrowser(t, 390, 844, true)

	b.run(t, "follow the SMS link", chromedp.Navigate(base+"/tra-cuu?ma="+strings.ToLower(strings.ReplaceAll(receipt, "-", ""))))
	b.waitFor(t, "the code is filled in from the link", fmt.Sprintf(`document.getElementById('receipt').value === %q`, receipt))
	b.run(t, "track", chromedp.SendKeys(chromedp.CSS("#phone-last4"), "6789"), chromedp.Click(chromedp.CSS("#track-form [type=submit]")))
	tracked := h.as("").do(t, http.MethodPost, "/v1/track", `{"receipt_code":"`+receipt+`","phone_last4":"6789"}`).body
	steps := len(tracked["steps"].([]any))
	b.waitFor(t, "the timeline shows", fmt.Sprintf(`document.querySelectorAll('#timeline li').length === %d`, steps))
	lastStep := tracked["steps"].([]any)[steps-1].(map[string]any)["text"].(string)
	if !strings.Contains(b.text(t, "#timeline"), lastStep) {
		t.Fatalf("the timeline %q lacks the latest step %q", b.text(t, "#timeline"), lastStep)
	}
	b.audit(t)
	screenshot(t, b, "citizen-track")

	b.run(t, "read it in English", chromedp.Click(chromedp.CSS("#lang-toggle")))
	english := h.as("").do(t, http.MethodPost, "/v1/track", `{"receipt_code":"`+receipt+`","phone_last4":"6789","lang":"en"}`).body
	lastEnglish := english["steps"].([]any)[steps-1].(map[string]any)["text"].(string)
	b.waitFor(t, "the page and timeline are in English", fmt.Sprintf(`document.documentElement.lang === 'en' && document.getElementById('timeline').textContent.includes(%q)`, lastEnglish))
	b.audit(t)
	b.run(t, "back to Vietnamese", chromedp.Click(chromedp.CSS("#lang-toggle")))
	b.waitFor(t, "Vietnamese again", `document.documentElement.lang === 'vi'`)

	// What the SMS link's page loaded: the map and the QR encoder are not among it.
	const scripts = `performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/assets/') && n.endsWith('.js'))`
	tracking := eval[[]string](t, b, scripts)

	b.run(t, "ask for a code", chromedp.SendKeys(chromedp.CSS("#login-phone"), "0913 456 789"), chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the code is asked for", `!document.getElementById('otp-form').hidden`)
	b.run(t, "enter the code", chromedp.SendKeys(chromedp.CSS("#otp-code"), h.lastCode(t)), chromedp.Click(chromedp.CSS("#otp-form [type=submit]")))
	b.waitFor(t, "the dossier shows", `!!document.querySelector('#delivery-form input[name=choice][value=home]')`)
	if later := eval[[]string](t, b, scripts); len(later) < len(tracking)+2 {
		t.Fatalf("the logged-in view fetched no scripts of its own (the map, the QR encoder): %v, then %v", tracking, later)
	}

	b.run(t, "home delivery", chromedp.Click(chromedp.CSS("#delivery-form input[name=choice][value=home]")))
	// No tile server is configured: the map's base layer is the wards' own outlines.
	b.waitFor(t, "the slots and the map, with its outlines, show", `!!document.querySelector('#delivery-form input[name=delivery-slot]:not(:disabled)') &&
		document.querySelectorAll('#delivery-map .leaflet-overlay-pane path').length > 0 && !!document.querySelector('#delivery-map .zone-label')`)
	slot := eval[string](t, b, `document.querySelector('#delivery-form input[name=delivery-slot]:not(:disabled)').value`)
	before := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["applicant"].(map[string]any)["location"].(map[string]any)
	b.run(t, "choose the slot", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#delivery-form input[name=delivery-slot][value=%q]`, slot))),
		chromedp.ScrollIntoView(chromedp.CSS("#delivery-map")))
	// A tap away from the recorded door, where no marker is.
	const pinText = `document.getElementById('delivery-map').nextElementSibling.textContent`
	was := eval[string](t, b, pinText)
	spot := eval[[]float64](t, b, `(() => { const r = document.getElementById('delivery-map').getBoundingClientRect(); return [r.left + r.width * 0.75, r.top + r.height * 0.7]; })()`)
	b.run(t, "tap the map for the door", chromedp.MouseClickXY(spot[0], spot[1]))
	b.waitFor(t, "the pin moves there", fmt.Sprintf(`%s !== %q && !!document.querySelector('#delivery-map .pin')`, pinText, was))
	screenshot(t, b, "citizen-delivery")
	// A change of language before sending keeps what was chosen: the slot and the pin.
	placed := eval[string](t, b, pinText)
	b.run(t, "read it in English", chromedp.Click(chromedp.CSS("#lang-toggle")))
	b.waitFor(t, "the dossier is drawn in English", `document.getElementById('dossier-title')?.textContent.startsWith('Dossier') && !!document.querySelector('#delivery-map .pin')`)
	b.run(t, "and back", chromedp.Click(chromedp.CSS("#lang-toggle")))
	b.waitFor(t, "the choices are still made", fmt.Sprintf(`document.getElementById('dossier-title')?.textContent.startsWith('Hồ sơ') && document.querySelector('#delivery-form input[name=delivery-slot]:checked')?.value === %q &&
		document.querySelector('#delivery-form input[name=choice]:checked')?.value === 'home' && %s === %q`, slot, pinText, placed))
	b.run(t, "send the choice", chromedp.Click(chromedp.CSS("#delivery-form [type=submit]")))
	b.waitFor(t, "the choice is confirmed", `document.getElementById('status').textContent.trim() !== '' && document.getElementById('error').textContent.trim() === ''`)

	// The server has what the page chose: home, that slot, the door where the map was tapped.
	// The test reads as the applicant with the page's own session.
	applicant := h.as("").bearer(eval[string](t, b, `sessionStorage.getItem('courierd.citizen.token')`))
	mine := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id, "").body
	var booked string
	for _, v := range mine["visits"].([]any) {
		if visit := v.(map[string]any); visit["kind"] == "delivery" && visit["slot"] != nil {
			slot := visit["slot"].(map[string]any)
			booked = fmt.Sprintf("%s|%s|%s", visit["date"], slot["start"], slot["end"])
		}
	}
	if mine["delivery_choice"] != "home" || booked != slot {
		t.Fatalf("the choice on the server: %v, delivery booked %q; the page chose %s", mine["delivery_choice"], booked, slot)
	}
	after := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["applicant"].(map[string]any)["location"].(map[string]any)
	if after["lat"] == before["lat"] && after["lon"] == before["lon"] {
		t.Fatalf("the pin the applicant placed did not move the door: %v", after)
	}

	// The fee, by VietQR: the page's transfer reference is the bill's.
	bill := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/bill", "").body
	transfer, err := payment.Parse(bill["vietqr"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if ref := b.text(t, "#vietqr strong"); ref != transfer.Reference || b.count(t, "#vietqr svg[role=img][aria-label]") != 1 {
		t.Fatalf("the page's VietQR: reference %q, want %q", ref, transfer.Reference)
	}
	b.audit(t)

	// The courier sets out with the result: the page shows this trip's door code.
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "result_at_post_office")
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+h.courierOf("courier01")+`"}`, "out_for_delivery")
	code := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/handover", "").body["code"].(string)
	b.run(t, "open the page again", chromedp.Reload())
	b.waitFor(t, "the door code shows", fmt.Sprintf(`(document.querySelector('#handover .door-code')?.textContent ?? '') === %q`, code))
	b.run(t, "scroll to it", chromedp.ScrollIntoView(chromedp.CSS("#handover")))
	b.audit(t)
	screenshot(t, b, "citizen-handover")

	// Guessing the digits: each miss is said plainly, and once the code is throttled the
	// page says how long to wait (the server's Retry-After).
	b.expect("404 (Not Found) (" + base + "/v1/track)")
	b.expect("429 (Too Many Requests) (" + base + "/v1/track)")
	b.run(t, "log out", chromedp.Click(chromedp.CSS("#logout")))
	b.waitFor(t, "the tracking form is back", `!document.getElementById('login').hidden && document.getElementById('track').offsetParent !== null`)
	b.run(t, "open the link again", chromedp.Navigate(base+"/tra-cuu?ma="+receipt))
	b.waitFor(t, "the page is whole", `document.readyState === 'complete' && document.getElementById('receipt').value !== ''`)
	for i := 0; ; i++ {
		if i == 12 {
			t.Fatalf("12 wrong guesses and no wait asked: %q", b.text(t, "#error"))
		}
		eval[chromedp.Void](t, b, `(() => { document.getElementById('error').textContent = ''; document.getElementById('phone-last4').value = '0000'; })()`)
		b.run(t, "guess", chromedp.Click(chromedp.CSS("#track-form [type=submit]")))
		b.waitFor(t, "the miss is said", `document.getElementById('error').textContent.trim() !== ''`)
		if said := b.text(t, "#error"); waitAsked.MatchString(said) {
			break
		} else if !strings.Contains(said, "Không có hồ sơ nào khớp") {
			t.Fatalf("a wrong guess answered %q", said)
		}
	}
}

var waitAsked = regexp.MustCompile(`thử lại sau khoảng [0-9]+ phút`)

// playDemo opens n of the demo's dossiers and brings each to its stage, as `courierd seed`
// does: a day with stops at every risk, couriers holding bags, results waiting.
func (h *harness) playDemo(t testing.TB, n int) {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin, Source: "test"})
	if _, err := demo.Play(ctx, h.dossiers, h.demoClock, demo.DossierPlans(demo.Build(1, n), 1, n)); err != nil {
		t.Fatal(err)
	}
}

// otherCourier is another active courier of the first post office, with a route or not.
func (h *harness) otherCourier(not string) string {
	for _, c := range h.demo.Couriers {
		if c.PostOfficeID == h.demo.PostOffices[0].ID && c.Active && c.ID.String() != not {
			return c.ID.String()
		}
	}
	return ""
}

// BenchmarkCitizenPageOn3G loads the applicants' page from an SMS link on a phone with an
// empty cache, over two emulated links, and reports what crossed the network and the time
// until the page is whole (every script and style loaded and run, the form working).
func BenchmarkCitizenPageOn3G(b *testing.B) {
	h := newHarness(b, nil)
	base := h.listen(b)
	receipt := h.as("clerk").do(b, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["receipt_code"].(string)
	for _, link := range []struct {
		name                string
		rttMs, downKbit, up float64
	}{
		// Chrome's presets: "Slow 3G" (400 ms, 400 kbit/s) and "Fast 3G" (562.5 ms, 1.44 Mbit/s down, 675 kbit/s up).
		{"slow-3G", 400, 400, 400},
		{"fast-3G", 562.5, 1440, 675},
	} {
		b.Run(link.name, func(b *testing.B) {
			var elapsed time.Duration
			var transferred int64
			for b.Loop() {
				b.StopTimer()
				br := newBrowser(b, 390, 844, true)
				br.run(b, "throttle", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
						MatchedNetworkConditions: []*network.Conditions{{Latency: link.rttMs,
							DownloadThroughput: link.downKbit * 1000 / 8, UploadThroughput: link.up * 1000 / 8}}})
					return err
				}))
				b.StartTimer()
				start := time.Now()
				br.run(b, "open the link", chromedp.Navigate(base+"/tra-cuu?ma="+receipt))
				br.waitFor(b, "the page is whole", `document.readyState === 'complete' && document.getElementById('receipt').value !== ''`)
				elapsed += time.Since(start)
				b.StopTimer()
				br.mu.Lock()
				for _, n := range br.bytes {
					transferred += n
				}
				br.mu.Unlock()
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms-to-ready")
			b.ReportMetric(float64(transferred)/float64(b.N), "bytes-transferred")
		})
	}
}

// TestCashHandInInBrowser: a dispatcher opens a courier's cash of the day in the console,
// sees what is to hand in, records the count, and sees the hand-in with its shortfall; the
// record holds it, received by them.
func TestCashHandInInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := newCashWorld(t, h, 4)
	courier := w.couriers[w.offices[0]][0]
	w.collect(t, courier, 0, "cash", 87_000)
	w.collect(t, courier, 0, "cash", 13_000)
	base := h.listen(t)
	b := newBrowser(t, 1366, 900, false)
	b.run(t, "log in", chromedp.Navigate(base+"/console"),
		chromedp.SendKeys(chromedp.CSS("#username"), "dispatcher"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	b.waitFor(t, "the console is up", `!document.getElementById('tab-cash').closest('[hidden]') && document.getElementById('login-form').hidden`)
	// From the keyboard, as the ARIA tabs pattern has it: the list is the office's however
	// the tab is reached.
	b.run(t, "open the cash tab from the keyboard", chromedp.Focus(chromedp.CSS("#tab-routes")), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.ArrowLeft))
	b.waitFor(t, "the cash tab is open", `!document.getElementById('panel-cash').hidden && document.activeElement.id === 'tab-cash'`)
	b.waitFor(t, "the office's couriers are listed", fmt.Sprintf(`[...document.querySelectorAll('#cash-courier option')].some((o) => o.value === %q)`, courier))
	b.run(t, "the courier's day", chromedp.SetValue(chromedp.CSS("#cash-courier"), courier.String()), chromedp.Click(chromedp.CSS("#cash-form [type=submit]")))
	b.waitFor(t, "what is to hand in", `document.getElementById('cash-summary').textContent.includes('100.000') && !document.getElementById('hand-in-form').hidden`)
	b.run(t, "count and record", chromedp.SendKeys(chromedp.CSS("#cash-counted"), "98000"), chromedp.Click(chromedp.CSS("#hand-in-form [type=submit]")))
	b.waitFor(t, "the hand-in is shown, short", `document.querySelectorAll('#cash-hand-ins li').length === 1 &&
		document.getElementById('cash-hand-ins').textContent.includes('thiếu 2.000') && document.getElementById('hand-in-form').hidden`)
	b.audit(t)
	day := w.cashDay(t, "admin", courier, w.date(0)).body
	handIns := day["hand_ins"].([]any)
	dispatcher := h.demo.Accounts[slices.IndexFunc(h.demo.Accounts, func(a auth.Account) bool { return a.Username == "dispatcher" })].ID.String()
	if len(handIns) != 1 || vnd(day["handed_in_vnd"]) != 98_000 || handIns[0].(map[string]any)["received_by"] != dispatcher {
		t.Fatalf("the record after the console's hand-in: %v", day)
	}
}

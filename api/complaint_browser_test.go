package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestComplaintInBrowser: a citizen logs in on the tracking page and files a complaint about
// the dossier shown; the office's dispatcher finds it in the console's complaints, answers
// and closes it; the citizen, back on the page, reads the answer.
func TestComplaintInBrowser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	created := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	receipt := created["receipt_code"].(string)
	base := h.listen(t)
	citizen := newBrowser(t, 390, 844, true)

	citizen.run(t, "open the tracking page", chromedp.Navigate(base+"/tra-cuu?ma="+receipt))
	citizen.run(t, "ask for a code", chromedp.SendKeys(chromedp.CSS("#login-phone"), "0913 456 789"), chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	citizen.waitFor(t, "the code is asked for", `!document.getElementById('otp-form').hidden`)
	citizen.run(t, "enter the code", chromedp.SendKeys(chromedp.CSS("#otp-code"), h.lastCode(t)), chromedp.Click(chromedp.CSS("#otp-form [type=submit]")))
	citizen.waitFor(t, "the complaint form shows", `!!document.querySelector('#complaint-form input[name=category][value=late]')`)
	// Sent empty, the form names what is missing, and nothing reaches the server.
	citizen.run(t, "send it empty", chromedp.Click(chromedp.CSS("#complaint-form [type=submit]")))
	citizen.waitFor(t, "the page asks for a category and a text", `document.getElementById('complaint-text').getAttribute('aria-invalid') === 'true' &&
		document.getElementById('error').textContent.includes('Hãy chọn loại khiếu nại')`)
	const text = "Bưu tá hẹn sáng thứ Hai nhưng thứ Tư mới đến lấy hồ sơ."
	// The message bar lies over the foot of the page until it is closed.
	citizen.run(t, "close the message", chromedp.Click(chromedp.CSS("#dismiss")))
	citizen.run(t, "write the complaint", chromedp.Click(chromedp.CSS("#complaint-form input[name=category][value=late]")),
		chromedp.SendKeys(chromedp.CSS("#complaint-text"), text), chromedp.Click(chromedp.CSS("#complaint-form [type=submit]")))
	citizen.waitFor(t, "the complaint is listed, awaiting an answer", `document.querySelector('#complaint-list li[data-state=open]')?.textContent.includes('Chậm trễ') &&
		document.getElementById('status').textContent.startsWith('Đã gửi khiếu nại')`)
	citizen.audit(t)
	screenshot(t, citizen, "citizen-complaint")
	// The same category again, while the first waits: refused in words.
	citizen.expect("409 (Conflict)")
	citizen.run(t, "complain again", chromedp.Click(chromedp.CSS("#dismiss")), chromedp.Click(chromedp.CSS("#complaint-form input[name=category][value=late]")),
		chromedp.SendKeys(chromedp.CSS("#complaint-text"), text), chromedp.Click(chromedp.CSS("#complaint-form [type=submit]")))
	citizen.waitFor(t, "the page says one is already open", `document.getElementById('error').textContent.includes('đang chờ trả lời')`)

	console := newBrowser(t, 1366, 900, false)
	console.run(t, "open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	console.run(t, "log in", chromedp.SendKeys(chromedp.CSS("#username"), "dispatcher"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-form [type=submit]")))
	console.run(t, "open the complaints", chromedp.WaitVisible(chromedp.CSS("#tab-complaints")), chromedp.Click(chromedp.CSS("#tab-complaints")))
	console.waitFor(t, "the complaint is listed", fmt.Sprintf(`document.querySelector('#complaint-list li[data-state=open]')?.textContent.includes(%q)`, receipt))
	const answer = "Chúng tôi xin lỗi ông/bà; bưu tá đã được nhắc nhở."
	console.run(t, "answer it", chromedp.SendKeys(chromedp.CSS("#complaint-list li[data-state=open] textarea"), answer),
		chromedp.Click(chromedp.CSS("#complaint-list li[data-state=open] button[type=submit]")))
	console.waitFor(t, "no open complaint is left", `document.getElementById('status').textContent.includes('Đã trả lời') && !document.querySelector('#complaint-list li')`)
	console.run(t, "show the answered ones", chromedp.SetValue(chromedp.CSS("#complaint-state"), "answered"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('complaint-state').dispatchEvent(new Event('change'))`))
	console.waitFor(t, "the answered one is listed", `!!document.querySelector('#complaint-list li[data-state=answered] button')`)
	console.audit(t)
	screenshot(t, console, "console-complaints")
	console.run(t, "close it", chromedp.Click(chromedp.CSS("#complaint-list li[data-state=answered] button")))
	console.waitFor(t, "it is closed", `document.getElementById('status').textContent.includes('Đã đóng')`)

	citizen.run(t, "come back to the page", chromedp.Reload())
	citizen.waitFor(t, "the answer shows", fmt.Sprintf(`document.querySelector('#complaint-list li[data-state=closed] .answer')?.textContent.includes(%q)`, answer))
	citizen.run(t, "read it in English", chromedp.Click(chromedp.CSS("#lang-toggle")))
	citizen.waitFor(t, "in English", `document.querySelector('#complaint-list li[data-state=closed]')?.textContent.includes('The post office’s answer')`)
}

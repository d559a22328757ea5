package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// png1x1 is a complete one-pixel PNG.
var png1x1 = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *harness) blob(t testing.TB, method, hash string, body []byte) reply {
	t.Helper()
	req := httptest.NewRequest(method, "/v1/device/blobs/"+hash, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	return h.as("courier01@device").with("X-App-Version", "1.4.2").send(t, req)
}

func TestProofBlobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	hash := sha(png1x1)

	if r := h.blob(t, http.MethodHead, hash, nil); r.status != http.StatusNotFound {
		t.Fatalf("HEAD before upload: %d", r.status)
	}
	if r := h.blob(t, http.MethodPut, hash, png1x1); r.status != http.StatusCreated || r.body["created"] != true {
		t.Fatalf("upload: %d %s", r.status, r.raw)
	}
	if r := h.blob(t, http.MethodPut, hash, png1x1); r.status != http.StatusOK || r.body["created"] != false {
		t.Fatalf("the same upload again: %d %s", r.status, r.raw)
	}
	if r := h.blob(t, http.MethodHead, hash, nil); r.status != http.StatusOK {
		t.Fatalf("HEAD after upload: %d", r.status)
	}
	damaged := append([]byte{}, png1x1...)
	damaged[len(damaged)-1] ^= 1
	wantProblem(t, h.blob(t, http.MethodPut, hash, damaged), http.StatusUnprocessableEntity, "HASH_MISMATCH")
	exe := append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 100)...)
	wantProblem(t, h.blob(t, http.MethodPut, sha(exe), exe), http.StatusUnprocessableEntity, "UNSUPPORTED_BLOB_TYPE")
	wantProblem(t, h.blob(t, http.MethodPut, sha(nil), nil), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "body")
	// A photo larger than any JSON body is still a photo.
	photo := append(append([]byte{}, png1x1...), bytes.Repeat([]byte{0}, testBodyLimit+1)...)
	if r := h.blob(t, http.MethodPut, sha(photo), photo); r.status != http.StatusCreated {
		t.Fatalf("a proof past the JSON limit: %d %s", r.status, r.raw)
	}
	// Past the blob limit the server itself refuses the body: through a real listener.
	big := append(append([]byte{}, png1x1...), bytes.Repeat([]byte{0}, testBlobLimit)...)
	base := h.listen(t)
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/device/blobs/"+sha(big), bytes.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+h.token(t, "courier01@device"))
	req.Header.Set("X-Device-ID", deviceKey("courier01@device"))
	resp, err := http.DefaultClient.Do(req)
	if err == nil { // the server may also cut the connection while the client still writes
		wantProblem(t, readReply(t, resp), http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	}
	if r := h.blob(t, http.MethodHead, sha(big), nil); r.status != http.StatusNotFound {
		t.Fatal("an oversized proof was stored")
	}
	// An upload cut halfway leaves nothing; sending it again stores it whole.
	cut := append(append([]byte{}, png1x1...), bytes.Repeat([]byte{7}, 64<<10)...)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v1/device/blobs/%s HTTP/1.1\r\nHost: courierd\r\nAuthorization: Bearer %s\r\nX-Device-ID: %s\r\n"+
		"Content-Type: image/png\r\nContent-Length: %d\r\n\r\n", sha(cut), h.token(t, "courier01@device"), deviceKey("courier01@device"), len(cut))
	_, _ = conn.Write(cut[:len(cut)/2])
	_ = conn.Close()
	if r := h.blob(t, http.MethodHead, sha(cut), nil); r.status != http.StatusNotFound {
		t.Fatal("half an upload was stored")
	}
	if r := h.blob(t, http.MethodPut, sha(cut), cut); r.status != http.StatusCreated {
		t.Fatalf("the upload sent again: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.blob(t, http.MethodPut, "not-a-hash", png1x1), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "sha256")
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L10 10"/></svg>`)
	if r := h.blob(t, http.MethodPut, sha(svg), svg); r.status != http.StatusCreated {
		t.Fatalf("an SVG signature: %d %s", r.status, r.raw)
	}
}

// TestProofPending: a handover recorded before its signature arrived is listed back to
// the device until the signature comes.
func TestProofPending(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	task := pickupTask(h, t, h.assigned(t, "courier01"))
	signature := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><path d="M1 1L9 3"/></svg>`)
	payload := `{"signature_sha256":"` + sha(signature) + `"}`
	if r := h.push(t, "courier01", mutation(1, uuid.NewString(), "task.pickup.v1", task, payload)); statuses(r) != "applied" {
		t.Fatalf("push: %s", r.raw)
	}
	var d device
	page := h.pull(t, "courier01", &d, 50)
	if !strings.Contains(page.raw, sha(signature)) {
		t.Fatalf("the missing signature is not listed: %s", page.raw)
	}
	h.blob(t, http.MethodPut, sha(signature), signature)
	if page := h.pull(t, "courier01", &d, 50); strings.Contains(page.raw, sha(signature)) {
		t.Fatalf("the signature arrived but is still listed: %s", page.raw)
	}
}

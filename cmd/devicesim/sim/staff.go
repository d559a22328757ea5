package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// staffClient calls the staff side of the API (logins, device registration, the
// dispatcher's dossiers), which the device contract does not cover.
type staffClient struct {
	base string
	http *http.Client
}

// problemError is an answer other than the one expected.
type problemError struct {
	status int
	body   string
}

func (e *problemError) Error() string { return fmt.Sprintf("%d %s", e.status, e.body) }

// call sends body as JSON with token and decodes a 2xx answer into out.
func (s staffClient) call(ctx context.Context, method, path, token string, headers map[string]string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &problemError{status: resp.StatusCode, body: string(raw)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s staffClient) login(ctx context.Context, username, password, deviceKey string) (tokens, error) {
	var t tokens
	body := map[string]string{"username": username, "password": password}
	if deviceKey != "" {
		body["device_id"] = deviceKey
	}
	err := s.call(ctx, http.MethodPost, "/v1/auth/login", "", nil, body, &t)
	if err != nil {
		return t, fmt.Errorf("log in as %s: %w", username, err)
	}
	return t, nil
}

func (s staffClient) refresh(ctx context.Context, deviceKey, refreshToken string) (tokens, error) {
	var t tokens
	err := s.call(ctx, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"X-Device-ID": deviceKey},
		map[string]string{"refresh_token": refreshToken}, &t)
	return t, err
}

// registerDevice registers the courier's handheld and returns its server id.
func (s staffClient) registerDevice(ctx context.Context, token, key string) (string, error) {
	var d struct {
		ID string `json:"id"`
	}
	err := s.call(ctx, http.MethodPost, "/v1/devices", token, nil,
		map[string]string{"device_id": key, "model": "devicesim", "os": "Android 14", "app_version": appVersion}, &d)
	return d.ID, err
}

type point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// template is a demo dossier of a post office: what a new one for that office copies.
type template struct {
	ProcedureID  string `json:"procedure_id"`
	AgencyID     string `json:"agency_id"`
	PostOfficeID string `json:"post_office_id"`
	Pickup       bool   `json:"pickup"`
	Return       bool   `json:"return"`
	Applicant    struct {
		Address       string `json:"address"`
		AdminUnitCode string `json:"admin_unit_code"`
		Location      point  `json:"location"`
	} `json:"applicant"`
}

// templateFor is a demo dossier of office to copy, or, for an office that has none (a
// load run's), one of another office's, moved to office.
func (s staffClient) templateFor(ctx context.Context, token, office string) (template, error) {
	for _, filter := range []string{"&post_office_id=" + url.QueryEscape(office), ""} {
		var list struct {
			Items []template `json:"items"`
		}
		if err := s.call(ctx, http.MethodGet, "/v1/dossiers?limit=100"+filter, token, nil, nil, &list); err != nil {
			return template{}, err
		}
		for _, d := range list.Items {
			if d.Pickup && d.Return {
				d.PostOfficeID = office
				return d, nil
			}
		}
	}
	return template{}, fmt.Errorf("no demo dossier to copy for post office %s: seed the demo data first", office)
}

// openPickup opens a dossier like tpl for an invented applicant near loc, gives its pickup
// to courier, as the dispatcher's plan would, and returns its receipt code. The
// applicant's phone ends in applicant's last four digits.
func (s staffClient) openPickup(ctx context.Context, token string, tpl template, courier string, applicant int, loc point) (string, error) {
	body := map[string]any{"procedure_id": tpl.ProcedureID, "agency_id": tpl.AgencyID, "post_office_id": tpl.PostOfficeID,
		"pickup": true, "return": true, "applicant": map[string]any{
			"name": fmt.Sprintf("Người nộp mô phỏng %d", applicant), "phone": fmt.Sprintf("09%08d", applicant%100_000_000),
			"citizen_id": fmt.Sprintf("0741%08d", applicant%100_000_000), "address": tpl.Applicant.Address,
			"admin_unit_code": tpl.Applicant.AdminUnitCode, "location": loc}}
	var d struct {
		ID          string `json:"id"`
		Version     int    `json:"version"`
		ReceiptCode string `json:"receipt_code"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/dossiers", token, nil, body, &d); err != nil {
		return "", fmt.Errorf("open a dossier: %w", err)
	}
	return d.ReceiptCode, s.call(ctx, http.MethodPost, "/v1/dossiers/"+d.ID+"/events", token, nil,
		map[string]any{"event": "assign_pickup", "version": d.Version, "courier_id": courier}, nil)
}

package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"courierd/domain/auth"
)

type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
	DeviceID string `json:"device_id,omitempty"`
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

type passwordBody struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type tokenReply struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
}

type meReply struct {
	AccountID     string   `json:"account_id"`
	Role          string   `json:"role"`
	CourierID     string   `json:"courier_id,omitempty"`
	AgencyID      string   `json:"agency_id,omitempty"`
	PostOfficeIDs []string `json:"post_office_ids,omitempty"`
	DeviceID      string   `json:"device_id,omitempty"`
	SessionID     string   `json:"session_id"`
}

func mountSession(rt *router, svc *auth.Service, tok *tokens) {
	reply := func(c *fiber.Ctx, s auth.Session) error {
		access, err := tok.issue(s)
		if err != nil {
			return err
		}
		// Tokens must not linger in caches between the server and the device.
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(tokenReply{AccessToken: access, RefreshToken: s.RefreshToken, TokenType: "Bearer",
			ExpiresIn: int(tok.ttl / time.Second), RefreshExpiresIn: int(s.RefreshExpiresAt.Sub(s.IssuedAt) / time.Second)})
	}
	rt.post("/auth/login", public, func(c *fiber.Ctx) error {
		var body loginBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		s, err := svc.Login(c.UserContext(), auth.LoginRequest{Username: body.Username, Password: body.Password,
			DeviceKey: body.DeviceID, Source: c.IP()})
		if err != nil {
			return err
		}
		return reply(c, s)
	})
	rt.post("/auth/refresh", public, func(c *fiber.Ctx) error {
		var body refreshBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		s, err := svc.Refresh(c.UserContext(), body.RefreshToken, c.IP())
		if err != nil {
			return err
		}
		return reply(c, s)
	})
	rt.post("/auth/logout", anyStaff, func(c *fiber.Ctx) error {
		if err := svc.Logout(c.UserContext()); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	rt.post("/auth/password", anyStaff, func(c *fiber.Ctx) error {
		var body passwordBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		s, err := svc.ChangePassword(c.UserContext(), body.CurrentPassword, body.NewPassword)
		if err != nil {
			return err
		}
		return reply(c, s)
	})
	rt.get("/me", anyStaff, func(c *fiber.Ctx) error {
		p := auth.PrincipalFrom(c.UserContext())
		me := meReply{AccountID: p.AccountID.String(), Role: string(p.Role), CourierID: idText(p.CourierID),
			AgencyID: idText(p.AgencyID), DeviceID: p.DeviceKey, SessionID: p.SessionID.String()}
		for _, o := range p.PostOfficeIDs {
			me.PostOfficeIDs = append(me.PostOfficeIDs, o.String())
		}
		return c.JSON(me)
	})
}

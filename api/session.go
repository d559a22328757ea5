package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"courierd/domain"
	"courierd/domain/auth"
)

type loginBody struct {
	Username string `json:"username" example:"courier.badinh.01"`
	Password string `json:"password"`
	// DeviceID binds the session to the courier's registered handheld.
	DeviceID string `json:"device_id,omitempty" doc:"a courier's registered handheld (X-Device-ID): binds the session to it"`
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
	TokenType        string `json:"token_type" enum:"Bearer"`
	ExpiresIn        int    `json:"expires_in" doc:"seconds" example:"900"`
	RefreshExpiresIn int    `json:"refresh_expires_in" doc:"seconds"`
}

type meReply struct {
	AccountID     string   `json:"account_id"`
	Role          string   `json:"role" enum:"admin,dispatcher,courier,clerk"`
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
	}).doc("Log in with a username and password").takes(loginBody{}).answers(fiber.StatusOK, tokenReply{}).
		fails(domain.CodeUnauthenticated, domain.CodeTooManyAttempts, auth.CodeDeviceNotBound)
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
	}).doc("Trade a refresh token for new tokens (the old refresh token is spent)").takes(refreshBody{}).answers(fiber.StatusOK, tokenReply{}).
		fails(domain.CodeUnauthenticated)
	rt.post("/auth/logout", anyStaff, func(c *fiber.Ctx) error {
		if err := svc.Logout(c.UserContext()); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}).doc("End the caller's session").answers(fiber.StatusNoContent, nil)
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
	}).doc("Change one's password (every other session ends)").takes(passwordBody{}).answers(fiber.StatusOK, tokenReply{}).
		fails(domain.CodeTooManyAttempts)
	rt.get("/me", anyStaff, func(c *fiber.Ctx) error {
		p := auth.PrincipalFrom(c.UserContext())
		me := meReply{AccountID: p.AccountID.String(), Role: string(p.Role), CourierID: idText(p.CourierID),
			AgencyID: idText(p.AgencyID), DeviceID: p.DeviceKey, SessionID: p.SessionID.String()}
		for _, o := range p.PostOfficeIDs {
			me.PostOfficeIDs = append(me.PostOfficeIDs, o.String())
		}
		return c.JSON(me)
	}).doc("Who the caller is").answers(fiber.StatusOK, meReply{})
}

package applicant

import (
	"context"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// MyPreference is the calling applicant's messaging choice.
func (s *Service) MyPreference(ctx context.Context) (dossier.Preference, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCitizen || p.PhoneIndex == "" {
		return dossier.Preference{}, domain.Errorf(domain.CodeForbidden, "only an applicant has messaging preferences")
	}
	return s.store.Preference(ctx, p.PhoneIndex)
}

// SetMyPreference records how the calling applicant wants to be messaged, or that they
// want no messages at all.
func (s *Service) SetMyPreference(ctx context.Context, pref dossier.Preference) (dossier.Preference, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.RoleCitizen || p.PhoneIndex == "" {
		return dossier.Preference{}, domain.Errorf(domain.CodeForbidden, "only an applicant has messaging preferences")
	}
	if pref.Channel != dossier.PreferAny && pref.Channel != dossier.PreferSMS && pref.Channel != dossier.PreferZalo {
		return dossier.Preference{}, domain.Invalid("channel", "must be any, sms or zalo")
	}
	pref.UpdatedAt = s.now()
	entry := audit.Entry{At: pref.UpdatedAt, ActorRole: string(p.Role), Source: p.Source, Action: "applicant.preferences",
		ResourceKind: "applicant", Detail: map[string]any{"channel": pref.Channel, "opted_out": pref.OptedOut}}
	return pref, s.store.SetPreference(ctx, p.PhoneIndex, pref, entry)
}

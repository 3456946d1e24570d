package core

import "encoding/json"

// OTPOptions configure one-time-password sign-in.
type OTPOptions struct {
	Enabled  bool  `json:"enabled"`
	Duration int64 `json:"duration"` // seconds an OTP stays valid
	Length   int   `json:"length"`   // digits
}

// MFAOptions configure multi-factor sign-in: a second, different method
// within Duration seconds of the first, for records the Rule matches
// (every record when empty).
type MFAOptions struct {
	Enabled  bool   `json:"enabled"`
	Duration int64  `json:"duration"`
	Rule     string `json:"rule"`
}

// OTPOptions returns the collection's OTP options with PocketBase's
// defaults (3 minutes, 8 digits).
func (o *AuthOptions) OTPOptions() OTPOptions {
	opts := OTPOptions{Duration: 180, Length: 8}
	if len(o.OTP) > 0 {
		_ = json.Unmarshal(o.OTP, &opts)
	}
	if opts.Duration <= 0 {
		opts.Duration = 180
	}
	if opts.Length < minOTPLength || opts.Length > maxOTPLength {
		opts.Length = 8
	}
	return opts
}

// MFAOptions returns the collection's MFA options with PocketBase's
// default window (30 minutes).
func (o *AuthOptions) MFAOptions() MFAOptions {
	opts := MFAOptions{Duration: 1800}
	if len(o.MFA) > 0 {
		_ = json.Unmarshal(o.MFA, &opts)
	}
	if opts.Duration <= 0 {
		opts.Duration = 1800
	}
	return opts
}

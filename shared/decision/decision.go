// Package decision is the vocabulary of one review: the three outcomes, the
// stable reason codes of a denial, and the Result every front reports.
//
// It owns no logic beyond constructing and classifying results, so the
// verifier (which produces them) and the webhook fronts (which render them)
// agree on one type without depending on each other.
package decision

import (
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// Outcome is what a review concluded.
type Outcome int

const (
	// Unset is the zero value: no decision was made. Every consumer treats
	// it as Unavailable, so a Result that was never filled in fails closed.
	Unset Outcome = iota
	// Authenticated: the token is valid and meant for the caller.
	Authenticated
	// Denied: the token is not acceptable; retrying will not help.
	Denied
	// Unavailable: no decision could be made now (for example the issuer's
	// keys were never fetched); the caller should not cache it.
	Unavailable
)

// String returns "authenticated", "denied" or "unavailable".
func (o Outcome) String() string {
	switch o {
	case Unset:
		return "unset"
	case Authenticated:
		return "authenticated"
	case Denied:
		return "denied"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Reason is a stable, machine-readable code for a denial or an
// unavailability. The strings are part of the public contract: they appear
// in logs, metrics and status.error.
type Reason string

// Denial reasons.
const (
	Malformed        Reason = "malformed"
	UnknownIssuer    Reason = "unknown_issuer"
	AlgNotAllowed    Reason = "alg_not_allowed"
	UnknownKey       Reason = "unknown_key"
	BadSignature     Reason = "bad_signature"
	Expired          Reason = "expired"
	NotYetValid      Reason = "not_yet_valid"
	IssuedInFuture   Reason = "issued_in_future"
	LifetimeTooLong  Reason = "lifetime_too_long"
	AudienceMismatch Reason = "audience_mismatch"
	ClaimRuleFailed  Reason = "claim_rule_failed"
	UserRuleFailed   Reason = "user_rule_failed"
	MappingFailed    Reason = "mapping_failed"
	ReservedName     Reason = "reserved_name"
)

// Reasons of an Unavailable result.
const (
	// KeysUnavailable: the issuer's keys could not be obtained.
	KeysUnavailable Reason = "keys_unavailable"
	// Internal: a bug; the review failed closed.
	Internal Reason = "internal_error"
)

// Result is the answer to one review.
type Result struct {
	Outcome Outcome
	// User is set when Outcome is Authenticated.
	User authenticationv1.UserInfo
	// Audiences are the accepted audiences (token ∩ issuer ∩ request).
	Audiences []string

	// Reason and Message explain a denial or unavailability. Message is
	// meant for operators; it never contains the token or its signature.
	Reason  Reason
	Message string

	// Issuer, KeyID and Algorithm say what was used, when known, for logs
	// and `tokenreview review`.
	Issuer    string
	KeyID     string
	Algorithm string
}

// Error is a denial or unavailability as a Go error, so that the steps of
// a review can return it and the verifier can turn it into a Result.
type Error struct {
	Reason  Reason
	Message string
	// Unavailable marks a transient failure rather than a denial.
	Unavailable bool
}

// Error returns "<reason>: <message>".
func (e *Error) Error() string { return string(e.Reason) + ": " + e.Message }

// Deny returns a denial error with a formatted message. The arguments must
// never include the token or parts of it other than decoded, public claims.
func Deny(reason Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Unavailablef returns a transient error with a formatted message.
func Unavailablef(format string, args ...any) *Error {
	return &Error{Reason: KeysUnavailable, Message: fmt.Sprintf(format, args...), Unavailable: true}
}

// FromError turns err into a Result that is not Authenticated. An error that
// is not an *Error (a bug, by construction) becomes Unavailable with the
// error's text, so that it fails closed without being cached.
func FromError(err error) Result {
	var e *Error
	if errors.As(err, &e) {
		if e.Unavailable {
			return Result{Outcome: Unavailable, Reason: e.Reason, Message: e.Message}
		}
		return Result{Outcome: Denied, Reason: e.Reason, Message: e.Message}
	}
	return Result{Outcome: Unavailable, Reason: Internal, Message: err.Error()}
}

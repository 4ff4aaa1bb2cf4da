package tokenreview

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tokenreview/webhook/shared/decision"
	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// The TokenReview versions this webhook speaks, as apiVersion values.
const (
	APIVersionV1      = "authentication.k8s.io/v1"
	APIVersionV1beta1 = "authentication.k8s.io/v1beta1"
	// Kind is the only kind accepted and answered.
	Kind = "TokenReview"
)

// API paths answered like a cluster's API (HTTP 201). A request path
// matches when it ends with one of them, so an API Gateway stage prefix
// ("/prod/apis/...") does not matter.
const (
	APIPathV1      = "/apis/authentication.k8s.io/v1/tokenreviews"
	APIPathV1beta1 = "/apis/authentication.k8s.io/v1beta1/tokenreviews"
)

// apiPathVersion returns the apiVersion an API path names, or "" for the
// webhook path.
func apiPathVersion(path string) string {
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, APIPathV1):
		return APIVersionV1
	case strings.HasSuffix(path, APIPathV1beta1):
		return APIVersionV1beta1
	}
	return ""
}

// review is a decoded request, version-neutral.
type review struct {
	apiVersion string
	token      string
	audiences  []string
}

// decodeReview reads a TokenReview body in mediaType (always JSON on the
// webhook path). pathVersion is the version named by the API path, or ""
// on the webhook path. Errors are client mistakes, worded for the caller;
// they never quote the token.
func decodeReview(body []byte, pathVersion, mediaType string) (review, error) {
	if len(body) == 0 {
		return review{}, errors.New("request body is empty; expected a TokenReview")
	}
	decode := decodeJSON
	if mediaType == MediaTypeProtobuf {
		decode = decodeProtobuf
	}
	rv, err := decode(body, pathVersion)
	if err != nil {
		return review{}, err
	}
	if rv.token == "" {
		return review{}, errors.New("spec.token is required and must not be empty")
	}
	return rv, nil
}

// decodeJSON reads a JSON TokenReview.
func decodeJSON(body []byte, pathVersion string) (review, error) {
	// v1 and v1beta1 TokenReviews have the same JSON shape (the versions
	// differ only in Go type names), so one decode reads either; the
	// version is then checked from the decoded TypeMeta.
	var tr authenticationv1.TokenReview
	if err := utiljson.Unmarshal(body, &tr); err != nil {
		return review{}, decodeError(err)
	}
	version, err := checkTypeMeta(tr.Kind, tr.APIVersion, pathVersion)
	if err != nil {
		return review{}, err
	}
	return review{apiVersion: version, token: tr.Spec.Token, audiences: tr.Spec.Audiences}, nil
}

// checkTypeMeta checks a request's kind (absent or TokenReview) and picks
// the version answered.
func checkTypeMeta(kind, apiVersion, pathVersion string) (string, error) {
	if kind != "" && kind != Kind {
		return "", fmt.Errorf("kind %q is not supported; expected %q", short(kind), Kind)
	}
	return pickVersion(apiVersion, pathVersion)
}

// pickVersion applies the version rules of the package comment.
func pickVersion(bodyVersion, pathVersion string) (string, error) {
	if pathVersion != "" {
		if bodyVersion != "" && bodyVersion != pathVersion {
			return "", fmt.Errorf("apiVersion %q in the body does not match %q of the request path", short(bodyVersion), pathVersion)
		}
		return pathVersion, nil
	}
	switch bodyVersion {
	case "":
		return APIVersionV1, nil
	case APIVersionV1, APIVersionV1beta1:
		return bodyVersion, nil
	}
	return "", fmt.Errorf("apiVersion %q is not supported; expected %q or %q", short(bodyVersion), APIVersionV1, APIVersionV1beta1)
}

// short caps a caller-supplied value quoted in a message, so that an
// oversized field cannot inflate answers and log lines.
func short(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// typeErr matches the decoder's type errors, e.g. "cannot unmarshal
// number into Go struct field TokenReviewSpec.spec.token of type string".
var typeErr = regexp.MustCompile(`^cannot unmarshal (\S+) into Go (?:struct field \w+\.(\S+)|value) of type (\S+)$`)

// decodeError words a decoding error for the caller. The decoder's
// messages (sigs.k8s.io/json, kube-apiserver's own) name positions, fields
// and types, at most one character of the input, never a value, so they
// cannot quote the token; they are still capped in length.
func decodeError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if m := typeErr.FindStringSubmatch(msg); m != nil {
		if m[2] == "" {
			return fmt.Errorf("request body must be a JSON object, got %s", m[1])
		}
		field := strings.TrimPrefix(m[2], "TypeMeta.")
		return fmt.Errorf("request body is not a valid TokenReview: %s must be of type %s, got %s", field, m[3], m[1])
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return fmt.Errorf("request body is not valid JSON: %s", msg)
}

// encodeReview renders the answer in the version asked, in mediaType
// (always JSON on the webhook path).
func encodeReview(rv review, res decision.Result, denialReasons bool, mediaType string) ([]byte, error) {
	obj := answer(rv, res, denialReasons)
	if mediaType == MediaTypeProtobuf {
		return encodeProtobuf(obj)
	}
	return json.Marshal(obj)
}

// answer builds the TokenReview answered, apiVersion and kind set.
func answer(rv review, res decision.Result, denialReasons bool) runtime.Object {
	authenticated, errText := statusFields(res, denialReasons)
	if rv.apiVersion == APIVersionV1beta1 {
		tr := &authenticationv1beta1.TokenReview{
			TypeMeta: metav1.TypeMeta{APIVersion: APIVersionV1beta1, Kind: Kind},
			Spec:     authenticationv1beta1.TokenReviewSpec{Audiences: rv.audiences},
			Status:   authenticationv1beta1.TokenReviewStatus{Authenticated: authenticated, Error: errText},
		}
		if authenticated {
			tr.Status.User = userV1beta1(res.User)
			tr.Status.Audiences = res.Audiences
		}
		return tr
	}
	tr := &authenticationv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: APIVersionV1, Kind: Kind},
		Spec:     authenticationv1.TokenReviewSpec{Audiences: rv.audiences},
		Status:   authenticationv1.TokenReviewStatus{Authenticated: authenticated, Error: errText},
	}
	if authenticated {
		tr.Status.User = res.User
		tr.Status.Audiences = res.Audiences
	}
	return tr
}

// statusFields maps a Result to status.authenticated and status.error. An
// unknown Outcome fails closed as unavailable (never cached).
func statusFields(res decision.Result, denialReasons bool) (bool, string) {
	switch res.Outcome {
	case decision.Authenticated:
		return true, ""
	case decision.Denied:
		if !denialReasons {
			return false, ""
		}
		return false, errorText(res.Reason, "denied", res.Message)
	case decision.Unavailable:
		return false, errorText(res.Reason, "unavailable", res.Message)
	}
	return false, errorText(decision.Internal, "", fmt.Sprintf("unknown review outcome %d", int(res.Outcome)))
}

// errorText is "<reason>: <message>", or the reason alone without message.
func errorText(reason decision.Reason, fallback, message string) string {
	r := string(reason)
	if r == "" {
		r = fallback
	}
	if message == "" {
		return r
	}
	return r + ": " + message
}

func userV1beta1(u authenticationv1.UserInfo) authenticationv1beta1.UserInfo {
	out := authenticationv1beta1.UserInfo{Username: u.Username, UID: u.UID, Groups: u.Groups}
	if u.Extra != nil {
		out.Extra = make(map[string]authenticationv1beta1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			out.Extra[k] = authenticationv1beta1.ExtraValue(v)
		}
	}
	return out
}

package tokenreview

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/munnerz/goautoneg"
	"k8s.io/apimachinery/pkg/runtime"
)

// Media types of the Kubernetes API path, in the order kube-apiserver lists
// them (JSON first: the default when Content-Type or Accept is absent).
// The webhook path speaks JSON only and ignores both headers.
const (
	MediaTypeJSON     = runtime.ContentTypeJSON     // "application/json"
	MediaTypeProtobuf = runtime.ContentTypeProtobuf // "application/vnd.kubernetes.protobuf"
)

// apiMediaTypes are the media types of the API path, JSON first.
var apiMediaTypes = [...]string{MediaTypeJSON, MediaTypeProtobuf}

// supportedList names apiMediaTypes in refusals, as kube-apiserver does.
func supportedList() string {
	return strings.Join(apiMediaTypes[:], ", ")
}

// negotiate picks an API-path request's media types: Accept first (406),
// then Content-Type (415), in kube-apiserver's create handler's order.
func negotiate(h http.Header) (in, out string, ref *refusal) {
	if out, ref = responseMediaType(h); ref != nil {
		return "", "", ref
	}
	if in, ref = requestMediaType(h); ref != nil {
		return "", "", ref
	}
	return in, out, nil
}

// requestMediaType picks the decoder of an API-path request from its
// Content-Type, as kube-apiserver's NegotiateInputSerializer does: absent
// means JSON, parameters (charset) are ignored, anything else is refused
// with the 415 message kube-apiserver uses.
func requestMediaType(h http.Header) (string, *refusal) {
	ct := h.Get("Content-Type")
	if ct == "" {
		return MediaTypeJSON, nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		for _, s := range apiMediaTypes {
			if mt == s {
				return s, nil
			}
		}
	}
	return "", &refusal{
		code:    http.StatusUnsupportedMediaType,
		message: "the body of the request was in an unknown format - accepted media types include: " + supportedList(),
		problem: "unsupported Content-Type " + quoteShort(ct),
	}
}

// responseMediaType negotiates the answer's media type from Accept the way
// kube-apiserver's NegotiateMediaTypeOptions does: absent means JSON;
// otherwise the clauses are tried in goautoneg's order (by q, then
// specificity; q=0 is not special-cased, as in kube-apiserver), each
// against JSON then protobuf, exact, "type/*" or "*/*". A clause asking
// for a conversion (as, g, v), a server version (sv) or a stream other
// than watch is skipped: this endpoint serves none. Nothing left gives
// the 406 message kube-apiserver uses.
func responseMediaType(h http.Header) (string, *refusal) {
	accept := h.Get("Accept")
	if accept == "" {
		return MediaTypeJSON, nil
	}
	for _, clause := range goautoneg.ParseAccept(accept) {
		if !acceptableParams(clause.Params) {
			continue
		}
		for _, s := range apiMediaTypes {
			typ, sub, _ := strings.Cut(s, "/")
			if (clause.Type == typ && (clause.SubType == sub || clause.SubType == "*")) ||
				(clause.Type == "*" && clause.SubType == "*") {
				return s, nil
			}
		}
	}
	return "", &refusal{
		code:    http.StatusNotAcceptable,
		message: "only the following media types are accepted: " + supportedList(),
		problem: "unsatisfiable Accept " + quoteShort(accept),
	}
}

// acceptableParams reports whether an Accept clause's parameters ask for
// nothing this endpoint cannot do (see responseMediaType).
func acceptableParams(params map[string]string) bool {
	for k, v := range params {
		switch k {
		case "as", "g", "v":
			return false
		case "sv":
			if v != "" {
				return false
			}
		case "stream":
			if v != "" && v != "watch" {
				return false
			}
		}
	}
	return true
}

// refusal is a request refused before decoding: the HTTP code, the
// Status message for the caller and the problem for the log line.
type refusal struct {
	code             int
	message, problem string
}

// quoteShort quotes a caller-supplied header value for a log line, capped.
func quoteShort(s string) string {
	return strconv.Quote(short(s))
}

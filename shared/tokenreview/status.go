package tokenreview

import (
	"encoding/json"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// header is the header of a response in mediaType.
func header(mediaType string) http.Header {
	return http.Header{
		"Content-Type":  {mediaType},
		"Cache-Control": {"no-store"},
	}
}

// statusReasons maps the HTTP codes this package answers to the
// metav1.StatusReason kube-apiserver would use.
var statusReasons = map[int]metav1.StatusReason{
	http.StatusBadRequest:            metav1.StatusReasonBadRequest,
	http.StatusUnauthorized:          metav1.StatusReasonUnauthorized,
	http.StatusMethodNotAllowed:      metav1.StatusReasonMethodNotAllowed,
	http.StatusNotAcceptable:         metav1.StatusReasonNotAcceptable,
	http.StatusRequestEntityTooLarge: metav1.StatusReasonRequestEntityTooLarge,
	http.StatusUnsupportedMediaType:  metav1.StatusReasonUnsupportedMediaType,
	http.StatusInternalServerError:   metav1.StatusReasonInternalError,
}

// StatusBody renders a metav1.Status failure, the shape kube-apiserver
// answers errors with:
// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
// "message":...,"reason":...,"code":...}.
func StatusBody(code int, message string) []byte {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  message,
		Reason:   statusReasons[code],
		Code:     int32(code),
	}
	if st.Reason == "" {
		st.Reason = metav1.StatusReasonUnknown
	}
	b, err := json.Marshal(&st)
	if err != nil { // a metav1.Status of strings and ints always encodes
		panic("tokenreview: encoding a Status: " + err.Error())
	}
	return b
}

func statusResponse(code int, message string) Response {
	return Response{StatusCode: code, Header: header(MediaTypeJSON), Body: StatusBody(code, message)}
}

func unauthorized(err error) Response {
	r := statusResponse(http.StatusUnauthorized, "endpoint authentication failed: "+err.Error())
	r.Header.Set("WWW-Authenticate", "Bearer")
	return r
}

func methodNotAllowed(method string) Response {
	r := statusResponse(http.StatusMethodNotAllowed, "method "+method+" is not allowed; use POST")
	r.Header.Set("Allow", http.MethodPost)
	return r
}

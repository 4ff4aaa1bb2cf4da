package tokenreview

import (
	"bytes"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// protobufCodec is apimachinery's own protobuf serializer (the "k8s\x00"
// prefix and runtime.Unknown envelope kube-apiserver and client-go use)
// over a scheme holding TokenReview v1 and v1beta1. It is built once and
// never changed; the Serializer and a filled Scheme are safe for
// concurrent use.
var protobufCodec = newProtobufCodec()

func newProtobufCodec() *protobuf.Serializer {
	scheme := runtime.NewScheme()
	utilruntime.Must(authenticationv1.AddToScheme(scheme))
	utilruntime.Must(authenticationv1beta1.AddToScheme(scheme))
	return protobuf.NewSerializer(scheme, scheme)
}

// decodeProtobuf reads a protobuf TokenReview on the API path. The
// envelope's kind and apiVersion obey the same rules as JSON's (absent
// means the path's version); the message is then decoded as the version
// chosen.
func decodeProtobuf(body []byte, pathVersion string) (review, error) {
	var env runtime.Unknown
	if _, _, err := protobufCodec.Decode(body, nil, &env); err != nil {
		return review{}, protobufError(err)
	}
	version, err := checkTypeMeta(env.Kind, env.APIVersion, pathVersion)
	if err != nil {
		return review{}, err
	}
	gvk := schema.FromAPIVersionAndKind(version, Kind)
	if version == APIVersionV1beta1 {
		var tr authenticationv1beta1.TokenReview
		if _, _, err := protobufCodec.Decode(body, &gvk, &tr); err != nil {
			return review{}, protobufError(err)
		}
		return review{apiVersion: version, token: tr.Spec.Token, audiences: tr.Spec.Audiences}, nil
	}
	var tr authenticationv1.TokenReview
	if _, _, err := protobufCodec.Decode(body, &gvk, &tr); err != nil {
		return review{}, protobufError(err)
	}
	return review{apiVersion: version, token: tr.Spec.Token, audiences: tr.Spec.Audiences}, nil
}

// protobufError words a protobuf decoding error for the caller. The
// generated unmarshalers report wire types, tags, lengths and field names,
// never a field's bytes, so the token is not quoted; the text is capped.
func protobufError(err error) error {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return fmt.Errorf("request body is not a valid protobuf TokenReview: %s", msg)
}

// encodeProtobuf renders an answer (a TokenReview with TypeMeta set) in
// protobuf.
func encodeProtobuf(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := protobufCodec.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	return buf.Bytes(), nil
}

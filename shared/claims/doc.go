// Package claims turns the verified claims of a JWT into the normalized
// Kubernetes user (authenticationv1.UserInfo) that the webhook reports.
//
// It owns, for one issuer:
//
//   - claimMappings (username, groups, uid, extra) by claim name with an
//     optional prefix or by CEL expression, with the same semantics as
//     kube-apiserver's structured JWT authenticator;
//   - claimValidationRules (checked before mapping) and userValidationRules
//     (checked on the mapped user);
//   - the Kubernetes service-account preset, which builds exactly the user
//     kube-apiserver's own service-account authenticator builds, under a
//     prefix and behind namespace and name allow-lists;
//   - the credential-id extra derived from a string jti claim;
//   - the guard against names in the reserved "system:" space.
//
// Every CEL expression is compiled once by Compile; Map only evaluates the
// compiled programs, so it is cheap enough for the hot path.
package claims

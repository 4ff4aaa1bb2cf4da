package infra_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// repoRoot is the repository root (this test runs in infra/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkAll runs every template check on a template text and a Makefile text.
func checkAll(t *testing.T, template, makefile []byte) []string {
	t.Helper()
	tmpl, err := parseTemplate(template)
	if err != nil {
		t.Fatal(err)
	}
	problems := tmpl.checkReferences()
	return append(problems, tmpl.checkFunctions(repo{root: repoRoot(t), makefile: makefile})...)
}

// TestTemplate checks template.yaml against the code it deploys: CodeUri
// and the Makefile build target lead to a main package; the environment
// variables it sets are read by that code and the ones the code needs in
// Lambda are set; every reference and condition names something defined.
func TestTemplate(t *testing.T) {
	problems := checkAll(t, readRepoFile(t, "template.yaml"), readRepoFile(t, "Makefile"))
	for _, p := range problems {
		t.Error(p)
	}
}

// TestTemplateChecksBite runs the same checks on broken copies of the
// template and the Makefile: each break must be reported with its message,
// and that message must be absent for the real files.
func TestTemplateChecksBite(t *testing.T) {
	template, makefile := string(readRepoFile(t, "template.yaml")), string(readRepoFile(t, "Makefile"))
	baseline := checkAll(t, []byte(template), []byte(makefile))

	cases := []struct {
		name, old, new string
		inMakefile     bool
		want           string
	}{
		{
			name: "CodeUri broken", old: "CodeUri: .", new: "CodeUri: ./nowhere",
			want: `TokenReviewFunction: CodeUri "./nowhere" is not a directory of the repository`,
		},
		{
			name: "CodeUri without go.mod", old: "CodeUri: .", new: "CodeUri: ./shared",
			want: `TokenReviewFunction: CodeUri "./shared" holds no go.mod, but the makefile builder runs the build there`,
		},
		{
			name: "build target builds a library", inMakefile: true,
			old: "FUNCTION_PKG := ./functions/tokenreview", new: "FUNCTION_PKG := ./shared/configsource",
			want: "TokenReviewFunction: ./shared/configsource is package configsource, not a main package",
		},
		{
			name: "build target without norpc", inMakefile: true,
			old: "GOFLAGS_LAMBDA := -tags lambda.norpc ", new: "GOFLAGS_LAMBDA := ",
			want: "TokenReviewFunction: build-TokenReviewFunction builds without -tags lambda.norpc",
		},
		{
			name: "build target missing", inMakefile: true,
			old: "build-TokenReviewFunction:\n", new: "build-SomethingElse:\n",
			want: "TokenReviewFunction: the Makefile has no recipe for build-TokenReviewFunction",
		},
		{
			name: "env var the code does not read",
			old:  "          TOKENREVIEW_CONFIG: !If", new: "          TOKENREVIEW_NOT_READ: \"1\"\n          TOKENREVIEW_CONFIG: !If",
			want: "TokenReviewFunction: environment variable TOKENREVIEW_NOT_READ is set by the template but not read by the code it deploys",
		},
		{
			name: "required env var not set",
			old:  "          TOKENREVIEW_CONFIG_PARAMETER: !If", new: "          TOKENREVIEW_CONFIG_PARAM: !If",
			want: "TokenReviewFunction: environment variable TOKENREVIEW_CONFIG_PARAMETER, read in Lambda through shared/configsource, is not set by the template",
		},
		{
			name: "!Ref to nothing",
			old:  "MemorySize: !Ref MemorySize", new: "MemorySize: !Ref MemorySizeTypo",
			want: "Resources.TokenReviewFunction.Properties.MemorySize: !Ref MemorySizeTypo names no parameter, resource or pseudo-parameter",
		},
		{
			name: "!GetAtt to nothing",
			old:  "PathPart: apis", new: "PathPart: apis\n      Description: !GetAtt RestApiX.RootResourceId",
			want: "Resources.RestApiApis.Properties.Description: !GetAtt RestApiX.RootResourceId names no resource",
		},
		{
			name: "!Sub variable to nothing",
			old:  "parameter${ConfigParameterName}\n              - Sid", new: "parameter${ConfigParameter}\n              - Sid",
			want: "!Sub ${ConfigParameter} names no parameter, resource or pseudo-parameter",
		},
		{
			name: "undefined condition",
			old:  "    Condition: UseHttpApi\n    Properties:\n      Name:", new: "    Condition: UseHttp\n    Properties:\n      Name:",
			want: `Resources.HttpApi.Condition: condition "UseHttp" is not defined in Conditions`,
		},
		{
			name: "DependsOn nothing",
			old:  "DependsOn: [RestApiMethod, RestApiKubeAPIMethod]", new: "DependsOn: [RestApiMethods, RestApiKubeAPIMethod]",
			want: "Resources.RestApiDeployment.DependsOn: RestApiMethods names no resource",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if slices.ContainsFunc(baseline, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Fatalf("the real files already report %q", tc.want)
			}
			tm, mk := template, makefile
			if tc.inMakefile {
				mk = replaceOnce(t, mk, tc.old, tc.new)
			} else {
				tm = replaceOnce(t, tm, tc.old, tc.new)
			}
			problems := checkAll(t, []byte(tm), []byte(mk))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Fatalf("want a problem containing\n  %s\ngot\n  %s", tc.want, strings.Join(problems, "\n  "))
			}
		})
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times, want once", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

// TestTemplateSecurity pins the properties the endpoint's security rests on.
func TestTemplateSecurity(t *testing.T) {
	tmpl, err := parseTemplate(readRepoFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := get(tmpl.root, "Resources")
	fn := at(res, "TokenReviewFunction", "Properties")
	expect := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	expect("Runtime", scalar(get(fn, "Runtime")), "provided.al2023")
	expect("Handler", scalar(get(fn, "Handler")), "bootstrap")
	expect("LoggingConfig.LogFormat", scalar(at(fn, "LoggingConfig", "LogFormat")), "JSON")
	expect("LoggingConfig.LogGroup", tagged(at(fn, "LoggingConfig", "LogGroup")), "!Ref LogGroup")
	expect("LogGroup type", scalar(at(res, "LogGroup", "Type")), "AWS::Logs::LogGroup")
	expect("LogGroup retention", tagged(at(res, "LogGroup", "Properties", "RetentionInDays")), "!Ref LogRetentionDays")
	expect("default Architecture", scalar(at(tmpl.root, "Parameters", "Architecture", "Default")), "arm64")
	expect("default Timeout", scalar(at(tmpl.root, "Parameters", "Timeout", "Default")), "5")
	expect("default MemorySize", scalar(at(tmpl.root, "Parameters", "MemorySize", "Default")), "256")

	// Fronts: one condition each.
	fronts := at(tmpl.root, "Parameters", "Front", "AllowedValues")
	var values []string
	for _, v := range fronts.Content {
		values = append(values, v.Value)
	}
	if !slices.Equal(values, []string{"FunctionUrl", "HttpApi", "RestApiMtls"}) {
		t.Errorf("Front values %v", values)
	}
	for _, f := range values {
		if get(get(tmpl.root, "Conditions"), "Use"+f) == nil {
			t.Errorf("no condition Use%s", f)
		}
	}

	// mTLS cannot be bypassed through execute-api.
	expect("RestApi.DisableExecuteApiEndpoint", scalar(at(res, "RestApi", "Properties", "DisableExecuteApiEndpoint")), "true")
	expect("RestApiDomain truststore", tagged(at(res, "RestApiDomain", "Properties", "MutualTlsAuthentication", "TruststoreUri")), "!Ref TruststoreUri")
	expect("RestApiDomain.SecurityPolicy", scalar(at(res, "RestApiDomain", "Properties", "SecurityPolicy")), "TLS_1_2")

	// Function URL: AuthType NONE with both permissions (Oct 2025 rule).
	expect("WebhookFunctionUrl.AuthType", scalar(at(res, "WebhookFunctionUrl", "Properties", "AuthType")), "NONE")
	expect("InvokeFunctionUrl permission", scalar(at(res, "FunctionUrlInvokeUrlPermission", "Properties", "Action")), "lambda:InvokeFunctionUrl")
	expect("InvokeFunctionUrl auth type", scalar(at(res, "FunctionUrlInvokeUrlPermission", "Properties", "FunctionUrlAuthType")), "NONE")
	expect("InvokeFunction permission", scalar(at(res, "FunctionUrlInvokeFunctionPermission", "Properties", "Action")), "lambda:InvokeFunction")
	expect("InvokedViaFunctionUrl", scalar(at(res, "FunctionUrlInvokeFunctionPermission", "Properties", "InvokedViaFunctionUrl")), "true")

	// IAM: exactly the one parameter, decrypt only through SSM for it.
	policy := at(fn, "Policies").Content[0]
	expect("policy condition", scalar(policy.Content[0]), "HasConfigParameter")
	stmts := get(policy.Content[1], "Statement").Content
	paramARN := "!Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ConfigParameterName}"
	expect("ssm action", scalar(get(stmts[0], "Action")), "ssm:GetParameter")
	expect("ssm resource", tagged(get(stmts[0], "Resource")), paramARN)
	expect("kms action", scalar(get(stmts[1], "Action")), "kms:Decrypt")
	expect("kms:ViaService", tagged(at(stmts[1], "Condition", "StringEquals", "kms:ViaService")), "!Sub ssm.${AWS::Region}.${AWS::URLSuffix}")
	expect("kms encryption context", tagged(at(stmts[1], "Condition", "StringEquals", "kms:EncryptionContext:PARAMETER_ARN")), paramARN)

	for _, out := range []string{"WebhookUrl", "KubeconfigSnippet", "Front"} {
		if at(tmpl.root, "Outputs", out, "Value") == nil {
			t.Errorf("no output %s", out)
		}
	}
}

// tagged renders a short-tag scalar as "!Tag value".
func tagged(n *yaml.Node) string {
	if n == nil {
		return "<missing>"
	}
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return n.Tag + " " + n.Value
	}
	return n.Value
}

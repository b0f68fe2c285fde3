package samtemplate_test

// Operations checks (README, "Operating it"): the data survives mistakes, every function is
// watched, and no parameter can be set to a value the code would refuse.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

func TestTableAndSecret_SurviveAStackDeletionOrReplacement(t *testing.T) {
	_, tpl := repo(t)
	res := tpl.Resources()
	for _, name := range []string{"Table", "DeploymentSecret"} {
		r := res[name]
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain for both", name, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	props := asMap(res["Table"]["Properties"])
	if !reflect.DeepEqual(props["DeletionProtectionEnabled"], map[string]any{"Ref": "TableDeletionProtection"}) {
		t.Errorf("Table.DeletionProtectionEnabled = %v, want the TableDeletionProtection parameter", props["DeletionProtectionEnabled"])
	}
	if asMap(props["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"] != true {
		t.Error("the table has no point-in-time recovery")
	}
	if asMap(props["SSESpecification"])["SSEEnabled"] != true {
		t.Error("the table's encryption at rest is not stated")
	}
}

// TestEveryFunction_HasItsLogGroupAlarmAndMetricNamespace: a function added without its log
// group (retention) or its alarm fails here.
func TestEveryFunction_HasItsLogGroupAlarmAndMetricNamespace(t *testing.T) {
	_, tpl := repo(t)
	res := tpl.Resources()
	namespace := map[string]any{"Fn::Sub": "InviteForward/${Stage}"}
	if tracing := asMap(asMap(tpl.Raw()["Globals"])["Function"])["Tracing"]; !reflect.DeepEqual(tracing, map[string]any{"Ref": "Tracing"}) {
		t.Errorf("Globals.Function.Tracing = %v, want the Tracing parameter", tracing)
	}
	for _, fn := range tpl.Functions() {
		id := fn.LogicalID
		if !reflect.DeepEqual(fn.Env["METRICS_NAMESPACE"], namespace) {
			t.Errorf("%s: METRICS_NAMESPACE = %v, want %v", id, fn.Env["METRICS_NAMESPACE"], namespace)
		}
		group := asMap(res[id+"LogGroup"]["Properties"])
		if res[id+"LogGroup"]["Type"] != "AWS::Logs::LogGroup" ||
			!reflect.DeepEqual(group["LogGroupName"], map[string]any{"Fn::Sub": "/aws/lambda/${" + id + "}"}) ||
			!reflect.DeepEqual(group["RetentionInDays"], map[string]any{"Ref": "LogRetentionDays"}) {
			t.Errorf("%s: no log group /aws/lambda/${%s} with LogRetentionDays (%sLogGroup: %v)", id, id, id, res[id+"LogGroup"])
		}
		checkAlarm(t, res, id+"ErrorsAlarm", "AWS/Lambda", "Errors", id)
		if len(httpEvents(fn)) > 0 {
			checkAlarm(t, res, id+"FaultsAlarm", namespace, "Faults", id)
		}
	}
}

func httpEvents(fn samtemplate.Function) []samtemplate.Event {
	var out []samtemplate.Event
	for _, e := range fn.Events {
		if e.Type == "HttpApi" {
			out = append(out, e)
		}
	}
	return out
}

func checkAlarm(t *testing.T, res map[string]map[string]any, name string, namespace any, metric, function string) {
	t.Helper()
	a := res[name]
	p := asMap(a["Properties"])
	dims := []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": function}}}
	if a["Type"] != "AWS::CloudWatch::Alarm" || !reflect.DeepEqual(p["Namespace"], namespace) || p["MetricName"] != metric ||
		!reflect.DeepEqual(p["Dimensions"], dims) {
		t.Errorf("%s: want an alarm on %v %s of %s, got %v", name, namespace, metric, function, a)
	}
}

// TestEveryAlarm_NotifiesTheConfiguredTopic: an alarm nobody hears is no alarm.
func TestEveryAlarm_NotifiesTheConfiguredTopic(t *testing.T) {
	_, tpl := repo(t)
	want := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
	n := 0
	for name, r := range tpl.Resources() {
		if r["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		n++
		if got := asMap(r["Properties"])["AlarmActions"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: AlarmActions %v, want the AlarmTopicArn topic when set", name, got)
		}
	}
	if n == 0 {
		t.Fatal("the template has no alarms")
	}
}

// TestParameters_AreValidatedAndTheirDefaultsAndEnvironmentsPass: every parameter is bounded
// (a pattern, a list or a range), so a typo fails `sam deploy` instead of a function at run
// time; the defaults and samconfig.toml's dev and prod values pass those bounds.
func TestParameters_AreValidatedAndTheirDefaultsAndEnvironmentsPass(t *testing.T) {
	root, tpl := repo(t)
	params := asMap(tpl.Raw()["Parameters"])
	for name, raw := range params {
		p := asMap(raw)
		_, hasValues := p["AllowedValues"]
		_, hasPattern := p["AllowedPattern"]
		_, hasMin := p["MinValue"]
		_, hasMax := p["MaxValue"]
		switch p["Type"] {
		case "Number":
			if !hasValues && !(hasMin && hasMax) {
				t.Errorf("parameter %s: a Number needs MinValue and MaxValue, or AllowedValues", name)
			}
		default:
			if !hasValues && !hasPattern {
				t.Errorf("parameter %s: a %v needs AllowedPattern or AllowedValues", name, p["Type"])
			}
		}
		if d, ok := p["Default"]; ok {
			if err := allowed(p, fmt.Sprint(d)); err != nil {
				t.Errorf("parameter %s: its default %v: %v", name, d, err)
			}
		}
	}
	config, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	overrides := regexp.MustCompile(`(\w+)=\\"([^"\\]*)\\"`).FindAllStringSubmatch(string(config), -1)
	if len(overrides) == 0 {
		t.Fatal("samconfig.toml overrides no parameter")
	}
	for _, o := range overrides {
		p, ok := params[o[1]]
		if !ok {
			t.Errorf("samconfig.toml sets %s, which the template does not declare", o[1])
			continue
		}
		if err := allowed(asMap(p), o[2]); err != nil {
			t.Errorf("samconfig.toml: %s=%q: %v", o[1], o[2], err)
		}
	}
}

// allowed applies a parameter's constraints to a value as CloudFormation does (a pattern
// must match each item of a CommaDelimitedList).
func allowed(p map[string]any, value string) error {
	if values, ok := p["AllowedValues"].([]any); ok {
		for _, v := range values {
			if fmt.Sprint(v) == value {
				return nil
			}
		}
		return fmt.Errorf("not one of %v", values)
	}
	if pattern, ok := p["AllowedPattern"].(string); ok {
		re := regexp.MustCompile(pattern)
		items := []string{value}
		if p["Type"] == "CommaDelimitedList" {
			items = strings.Split(value, ",")
		}
		for _, item := range items {
			if !re.MatchString(item) {
				return fmt.Errorf("%q does not match %s", item, pattern)
			}
		}
	}
	if p["Type"] == "Number" {
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return err
		}
		lo, hi := bound(p["MinValue"], math.Inf(-1)), bound(p["MaxValue"], math.Inf(1))
		if n < lo || n > hi {
			return fmt.Errorf("%v is outside [%v, %v]", n, lo, hi)
		}
	}
	return nil
}

func bound(v any, def float64) float64 {
	if v == nil {
		return def
	}
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return f
}

// TestRanges_AreTheTemplatesBounds: a whole-number setting is refused at init exactly where
// `sam deploy` refuses its parameter — one rule, checked in two places that must agree.
func TestRanges_AreTheTemplatesBounds(t *testing.T) {
	_, tpl := repo(t)
	params := asMap(tpl.Raw()["Parameters"])
	refs := envParameters(tpl)
	for name, r := range setup.Ranges {
		param, ok := refs[name]
		if !ok {
			t.Errorf("%s is bounded in code but set from no template parameter", name)
			continue
		}
		p := asMap(params[param])
		if bound(p["MinValue"], math.NaN()) != float64(r.Min) || bound(p["MaxValue"], math.NaN()) != float64(r.Max) {
			t.Errorf("%s: code allows %d–%d, parameter %s %v–%v", name, r.Min, r.Max, param, p["MinValue"], p["MaxValue"])
		}
	}
	for name, param := range refs {
		if asMap(params[param])["Type"] == "Number" {
			if _, ok := setup.Ranges[name]; !ok {
				t.Errorf("%s is set from the Number parameter %s but has no range in setup.Ranges", name, param)
			}
		}
	}
}

// TestRules_AreTheTemplatesPatterns: a string setting is refused at init exactly where
// `sam deploy` refuses its parameter (AllowedPattern, AllowedValues) — and every string
// parameter with a rule that reaches a function has its rule in setup.Rules.
func TestRules_AreTheTemplatesPatterns(t *testing.T) {
	_, tpl := repo(t)
	params := asMap(tpl.Raw()["Parameters"])
	refs := envParameters(tpl)
	for name, param := range refs {
		p := asMap(params[param])
		pattern, _ := p["AllowedPattern"].(string)
		values, _ := p["AllowedValues"].([]any)
		rule, ok := setup.Rules[name]
		switch {
		case pattern == "" && len(values) == 0:
			if ok {
				t.Errorf("%s has a rule in code, parameter %s none", name, param)
			}
		case !ok:
			t.Errorf("%s is set from %s, which has a rule, but has none in setup.Rules", name, param)
		case pattern != "" && (rule.Pattern != pattern || rule.List != (p["Type"] == "CommaDelimitedList")):
			t.Errorf("%s: code pattern %q (list %v), parameter %s %q (%v)", name, rule.Pattern, rule.List, param, pattern, p["Type"])
		case rule.MaxLength != maxLength(p):
			t.Errorf("%s: code MaxLength %d, parameter %s %d", name, rule.MaxLength, param, maxLength(p))
		case len(values) > 0 && fmt.Sprint(rule.Values) != fmt.Sprint(values):
			t.Errorf("%s: code values %v, parameter %s %v", name, rule.Values, param, values)
		}
	}
	for name := range setup.Rules {
		if _, ok := refs[name]; !ok {
			t.Errorf("%s has a rule in code but is set from no template parameter", name)
		}
	}
}

// maxLength is a parameter's MaxLength, 0 without one.
func maxLength(p map[string]any) int {
	n, _ := p["MaxLength"].(int)
	return n
}

// envParameters maps each environment variable of the functions to the template parameter
// it is set from: !Ref P, or !Join [",", !Ref P] for a list.
func envParameters(tpl *samtemplate.Template) map[string]string {
	refs := map[string]string{}
	for _, fn := range tpl.Functions() {
		for name, v := range fn.Env {
			if ref, ok := asMap(v)["Ref"].(string); ok {
				refs[name] = ref
			} else if join, ok := asMap(v)["Fn::Join"].([]any); ok && len(join) == 2 {
				if ref, ok := asMap(join[1])["Ref"].(string); ok {
					refs[name] = ref
				}
			}
		}
	}
	return refs
}

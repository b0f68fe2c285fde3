package samtemplate_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/invite-forward/invite-forward/shared/setup"
)

// TestUnsignedSESEvents_CannotBeSwitchedOnByADeployment: the local-only switch that skips SNS
// signature checks is declared (so `sam local` can set it) as a fixed empty string — never from
// a parameter, which `sam deploy` could set.
func TestUnsignedSESEvents_CannotBeSwitchedOnByADeployment(t *testing.T) {
	_, tpl := repo(t)
	declared := false
	for _, fn := range tpl.Functions() {
		v, ok := fn.Env[setup.UnsignedSESEventsVar]
		if !ok {
			continue
		}
		declared = true
		if v != "" {
			t.Errorf("%s: %s = %v, want the fixed value \"\"", fn.LogicalID, setup.UnsignedSESEventsVar, v)
		}
	}
	if !declared {
		t.Errorf("no function declares %s: sam local could not set it", setup.UnsignedSESEventsVar)
	}
}

// TestSESEvents_ReachTheDeliveryFunction: emails are sent through the stack's configuration
// set, which publishes their delivery events to the topic EmailDeliveryFunction consumes, and
// only SES may publish there, for that configuration set.
func TestSESEvents_ReachTheDeliveryFunction(t *testing.T) {
	_, tpl := repo(t)
	res := tpl.Resources()
	ref := func(name string) any { return map[string]any{"Ref": name} }
	for _, fn := range tpl.Functions() {
		if v := fn.Env["SES_CONFIGURATION_SET"]; !reflect.DeepEqual(v, ref("InvitationConfigurationSet")) {
			t.Errorf("%s: SES_CONFIGURATION_SET = %v, want the stack's configuration set", fn.LogicalID, v)
		}
	}
	dest := asMap(asMap(res["InvitationConfigurationSetEvents"]["Properties"])["EventDestination"])
	if !reflect.DeepEqual(asMap(asMap(res["InvitationConfigurationSetEvents"]["Properties"]))["ConfigurationSetName"], ref("InvitationConfigurationSet")) ||
		!reflect.DeepEqual(asMap(dest["SnsDestination"])["TopicARN"], ref("SesEventsTopic")) || dest["Enabled"] != true {
		t.Errorf("the configuration set does not publish to SesEventsTopic: %v", res["InvitationConfigurationSetEvents"])
	}
	types := toStrings(dest["MatchingEventTypes"])
	for _, want := range []string{"send", "reject", "bounce", "complaint", "delivery", "deliveryDelay"} {
		if !slices.Contains(types, want) {
			t.Errorf("MatchingEventTypes %v lack %s", types, want)
		}
	}
	consumed := false
	for _, fn := range tpl.Functions() {
		for _, e := range fn.Events {
			if e.Type == "SNS" && reflect.DeepEqual(asMap(e.Raw["Properties"])["Topic"], ref("SesEventsTopic")) {
				consumed = fn.LogicalID == "EmailDeliveryFunction"
			}
		}
	}
	if !consumed {
		t.Error("EmailDeliveryFunction (and only it) must subscribe to SesEventsTopic")
	}
	policy := asMap(asMap(res["SesEventsTopicPolicy"]["Properties"])["PolicyDocument"])
	for _, s := range oneOrMany(policy["Statement"]) {
		stmt := asMap(s)
		cond := asMap(asMap(stmt["Condition"])["StringEquals"])
		if !reflect.DeepEqual(stmt["Principal"], map[string]any{"Service": "ses.amazonaws.com"}) || cond["AWS:SourceArn"] == nil || cond["AWS:SourceAccount"] == nil {
			t.Errorf("topic policy statement %v: only SES, for this account's configuration set, may publish", stmt)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range oneOrMany(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

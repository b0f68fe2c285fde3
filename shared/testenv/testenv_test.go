package testenv_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestNewTable_HasTheTemplatesKeysIndexesAndTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DynamoDB(t)
	name := testenv.NewTable(t)

	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	want, wantTTL, err := tpl.TableInput(name)
	if err != nil {
		t.Fatal(err)
	}

	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	got := desc.Table
	if !sameKeys(got.KeySchema, want.KeySchema) {
		t.Errorf("key schema = %v, want %v", keys(got.KeySchema), keys(want.KeySchema))
	}
	if len(got.GlobalSecondaryIndexes) != len(want.GlobalSecondaryIndexes) {
		t.Fatalf("%d global indexes, want %d", len(got.GlobalSecondaryIndexes), len(want.GlobalSecondaryIndexes))
	}
	for _, w := range want.GlobalSecondaryIndexes {
		i := slices.IndexFunc(got.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(g.IndexName) == aws.ToString(w.IndexName)
		})
		if i < 0 || !sameKeys(got.GlobalSecondaryIndexes[i].KeySchema, w.KeySchema) {
			t.Errorf("index %s missing or with other keys", aws.ToString(w.IndexName))
		}
	}
	if got.BillingModeSummary == nil || got.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %v, want on demand", got.BillingModeSummary)
	}

	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != wantTTL || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want %s enabled", d, wantTTL)
	}
}

func TestNewTable_ItemsWrittenAreReadBackFromThatTableOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DynamoDB(t)
	mine, other := testenv.NewTable(t), testenv.NewTable(t)
	if mine == other {
		t.Fatalf("two tables share the name %s", mine)
	}
	item := map[string]types.AttributeValue{
		"pk":     &types.AttributeValueMemberS{Value: "CONV#1"},
		"sk":     &types.AttributeValueMemberS{Value: "META"},
		"gsi1pk": &types.AttributeValueMemberS{Value: "AGENT#anna"},
		"gsi1sk": &types.AttributeValueMemberS{Value: "2025-01-01"},
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &mine, Item: item}); err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}

	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &mine, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item["gsi1pk"].(*types.AttributeValueMemberS).Value != "AGENT#anna" {
		t.Errorf("read back %v", got.Item)
	}
	q, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &mine,
		IndexName:                 aws.String("gsi1"),
		KeyConditionExpression:    aws.String("gsi1pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": item["gsi1pk"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	if q.Count != 1 {
		t.Errorf("gsi1 query found %d items, want 1", q.Count)
	}

	elsewhere, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &other, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if elsewhere.Item != nil {
		t.Errorf("the item shows up in another test's table: %v", elsewhere.Item)
	}
}

func TestNewTable_IsDeletedWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("owner", func(t *testing.T) { name = testenv.NewTable(t) })

	_, err := testenv.DynamoDB(t).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &name})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("DescribeTable after the owning test ended: err = %v, want ResourceNotFoundException", err)
	}
}

func TestSentMail_IsReadBackByRecipient(t *testing.T) {
	t.Parallel()
	to, bystander := unique(t)+"@example.com", unique(t)+"@example.com"
	before := time.Now().Truncate(time.Second)
	out, err := testenv.SES(t).SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Invite & Forward <invites@example.com>"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"Carl Customer <" + to + ">"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("You are invited")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String("Join: https://app.example.com/join")},
				Html: &sestypes.Content{Data: aws.String(`<a href="https://app.example.com/join">Join</a>`)},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	got := testenv.MailTo(t, to)
	if len(got) != 1 {
		t.Fatalf("%d mails to %s, want 1", len(got), to)
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) {
		t.Errorf("message id %q, SES said %q", m.MessageID, aws.ToString(out.MessageId))
	}
	if m.From != "Invite & Forward <invites@example.com>" || m.Subject != "You are invited" {
		t.Errorf("from %q subject %q", m.From, m.Subject)
	}
	if m.Text != "Join: https://app.example.com/join" || m.HTML != `<a href="https://app.example.com/join">Join</a>` {
		t.Errorf("bodies: text %q html %q", m.Text, m.HTML)
	}
	if m.At.Before(before) || m.At.After(time.Now()) {
		t.Errorf("accepted at %v, sent at %v", m.At, before)
	}
	if n := len(testenv.MailTo(t, bystander)); n != 0 {
		t.Errorf("%d mails to an address nobody wrote to", n)
	}
	if !slices.ContainsFunc(testenv.SentMail(t), func(x testenv.Mail) bool { return x.MessageID == m.MessageID }) {
		t.Error("SentMail lacks the message MailTo found")
	}
}

func TestMail_SentToMatchesAddressesNotDisplayNames(t *testing.T) {
	m := testenv.Mail{To: []string{"Carl <Carl@Example.com>"}, Bcc: []string{"audit@example.com"}}
	for addr, want := range map[string]bool{
		"carl@example.com":           true,
		"CARL@EXAMPLE.COM":           true,
		"Someone <carl@example.com>": true,
		"audit@example.com":          true,
		"carl@example.org":           false,
		"Carl":                       false,
	} {
		if got := m.SentTo(addr); got != want {
			t.Errorf("SentTo(%q) = %v, want %v", addr, got, want)
		}
	}
}

func unique(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "testenv-" + hex.EncodeToString(b)
}

func keys(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return out
}

func sameKeys(a, b []types.KeySchemaElement) bool { return slices.Equal(keys(a), keys(b)) }

package samtemplate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableType is the resource type of the application's single table.
const TableType = "AWS::DynamoDB::Table"

// TableInput returns a CreateTableInput for a table named tableName with the keys, attribute
// definitions, indexes and stream of the template's only AWS::DynamoDB::Table, and the name of
// its TTL attribute ("" if it has none). Tests and local tools create their tables from it so
// that they can never drift from what is deployed. Billing is always on demand, as deployed.
func (t *Template) TableInput(tableName string) (*dynamodb.CreateTableInput, string, error) {
	props, err := t.tableProperties()
	if err != nil {
		return nil, "", err
	}
	in, err := createTableInput(tableName, props)
	if err != nil {
		return nil, "", fmt.Errorf("table definition: %w", err)
	}
	ttl := asString(dig(props, "TimeToLiveSpecification", "AttributeName"))
	if dig(props, "TimeToLiveSpecification", "Enabled") != true {
		ttl = ""
	}
	return in, ttl, nil
}

func (t *Template) tableProperties() (map[string]any, error) {
	var found []string
	var props map[string]any
	for id, r := range t.Resources() {
		if r["Type"] == TableType {
			found = append(found, id)
			props = asMap(r["Properties"])
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("want exactly one %s in the template, found %d %v", TableType, len(found), found)
	}
	return props, nil
}

func createTableInput(name string, props map[string]any) (*dynamodb.CreateTableInput, error) {
	attrs, err := attributeDefinitions(props["AttributeDefinitions"])
	if err != nil {
		return nil, err
	}
	keys, err := keySchema(props["KeySchema"])
	if err != nil {
		return nil, err
	}
	gsis, err := globalIndexes(props["GlobalSecondaryIndexes"])
	if err != nil {
		return nil, err
	}
	lsis, err := localIndexes(props["LocalSecondaryIndexes"])
	if err != nil {
		return nil, err
	}
	in := &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		AttributeDefinitions:   attrs,
		KeySchema:              keys,
		GlobalSecondaryIndexes: gsis,
		LocalSecondaryIndexes:  lsis,
		BillingMode:            types.BillingModePayPerRequest,
	}
	if view := asString(dig(props, "StreamSpecification", "StreamViewType")); view != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(view),
		}
	}
	return in, nil
}

func attributeDefinitions(v any) ([]types.AttributeDefinition, error) {
	var out []types.AttributeDefinition
	for _, item := range listOf(v) {
		name, typ := literal(item, "AttributeName"), literal(item, "AttributeType")
		if name == "" || typ == "" {
			return nil, fmt.Errorf("attribute definition %v needs a literal AttributeName and AttributeType", item)
		}
		out = append(out, types.AttributeDefinition{
			AttributeName: aws.String(name),
			AttributeType: types.ScalarAttributeType(typ),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("no AttributeDefinitions")
	}
	return out, nil
}

func keySchema(v any) ([]types.KeySchemaElement, error) {
	var out []types.KeySchemaElement
	for _, item := range listOf(v) {
		name, typ := literal(item, "AttributeName"), literal(item, "KeyType")
		if name == "" || typ == "" {
			return nil, fmt.Errorf("key schema element %v needs a literal AttributeName and KeyType", item)
		}
		out = append(out, types.KeySchemaElement{
			AttributeName: aws.String(name),
			KeyType:       types.KeyType(typ),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("empty KeySchema")
	}
	return out, nil
}

func globalIndexes(v any) ([]types.GlobalSecondaryIndex, error) {
	var out []types.GlobalSecondaryIndex
	for _, item := range listOf(v) {
		name, keys, proj, err := index(item)
		if err != nil {
			return nil, err
		}
		out = append(out, types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: keys, Projection: proj})
	}
	return out, nil
}

func localIndexes(v any) ([]types.LocalSecondaryIndex, error) {
	var out []types.LocalSecondaryIndex
	for _, item := range listOf(v) {
		name, keys, proj, err := index(item)
		if err != nil {
			return nil, err
		}
		out = append(out, types.LocalSecondaryIndex{IndexName: aws.String(name), KeySchema: keys, Projection: proj})
	}
	return out, nil
}

func index(item any) (string, []types.KeySchemaElement, *types.Projection, error) {
	name := literal(item, "IndexName")
	if name == "" {
		return "", nil, nil, fmt.Errorf("index %v needs a literal IndexName", item)
	}
	keys, err := keySchema(asMap(item)["KeySchema"])
	if err != nil {
		return "", nil, nil, fmt.Errorf("index %s: %w", name, err)
	}
	p := asMap(asMap(item)["Projection"])
	proj := &types.Projection{ProjectionType: types.ProjectionType(strings.ToUpper(asString(p["ProjectionType"])))}
	if proj.ProjectionType == "" {
		return "", nil, nil, fmt.Errorf("index %s: no literal Projection.ProjectionType", name)
	}
	for _, a := range listOf(p["NonKeyAttributes"]) {
		proj.NonKeyAttributes = append(proj.NonKeyAttributes, asString(a))
	}
	return name, keys, proj, nil
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

// literal reads a string property; intrinsic functions read as "", because the table's shape
// must be known without deploying.
func literal(item any, key string) string { return asString(asMap(item)[key]) }

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// Decode reads the JSON body into v strictly: unknown fields, trailing data, wrong types and
// a non-object body are 400 with a code that says which. An empty body decodes as {} so
// actions whose fields are all optional accept a bare POST.
func Decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		return apperror.Invalid("invalid_json", "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperror.Invalid("invalid_json", "the request body has data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return apperror.Invalid("invalid_field", "field "+typeErr.Field+" has the wrong type").WithCause(err)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apperror.Invalid("invalid_json", "the request body is not valid JSON").WithCause(err)
	default:
		// json's unknown-field error has no type; its text names the field, which is ours
		// to show since the caller sent it.
		return apperror.Invalid("invalid_json", "the request body does not match the expected fields: "+err.Error()).WithCause(err)
	}
}

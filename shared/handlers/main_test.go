package handlers_test

import (
	"testing"

	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

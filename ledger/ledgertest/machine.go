package ledgertest

import "testing"

func testStateMachine(t *testing.T, open Opener) {}

package push

import (
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// EventMessage is the push of one history event, as a recipient of the given kind sees it.
// Data travels as the event has it, and is never nil, so clients can always read message.data.
func EventMessage(e conversation.Event, kind conversation.ParticipantKind) wsapi.Message {
	e = e.For(kind)
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return wsapi.Message{
		Type: e.Type, ConversationID: e.ConversationID, Seq: e.Seq, PrevSeq: e.PrevSeq, At: e.At,
		ActorID: e.ActorID, Data: data,
	}
}

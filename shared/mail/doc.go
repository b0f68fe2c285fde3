// Package mail owns the invitation email: which recipient addresses are accepted, where the
// link in it may point, and its HTML and plain-text bodies; the SES adapter that sends it is
// package sesmail.
//
// Everything a person typed (the agent's name and note, the visitor's topic, the customer's
// address) is treated as hostile here: addresses are reduced to one plain address, links only
// ever point at allow-listed origins, the subject never carries a line break, and every value
// is escaped wherever it appears in the HTML body. Nothing in this package logs, because the
// bodies carry the join token.
package mail

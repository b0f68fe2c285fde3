package mail

import (
	"html"
	"strings"
)

// The bodies are written in code rather than with html/template and text/template: template
// execution calls methods through reflection, which turns off the linker's pruning of unused
// methods, and so made the two functions that send mail link every operation of every AWS
// client they hold (1.6× the size of the others). Escaping stays total: every value a person
// may have typed goes through esc in the HTML body, and reaches the text body only after
// newView cleaned it to single lines.

// esc escapes s for HTML text and for a double-quoted attribute value.
func esc(s string) string { return html.EscapeString(s) }

// greeting is "Hello Carl," or "Hello,"; who is already escaped for the body it goes in.
func greeting(who string) string {
	if who == "" {
		return "Hello,"
	}
	return "Hello " + who + ","
}

const (
	htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>`
	htmlTop = `</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;">
<tr><td style="padding:28px 28px 8px 28px;font-size:16px;line-height:1.5;">
<p style="margin:0 0 16px 0;">`
	htmlButton = `
</td></tr>
<tr><td align="center" style="padding:8px 28px 16px 28px;">
<a href="`
	htmlButtonEnd = `" style="display:inline-block;padding:12px 24px;background:#0969da;color:#ffffff;text-decoration:none;border-radius:6px;font-size:16px;font-weight:600;">Join the conversation</a>
</td></tr>
<tr><td style="padding:0 28px 24px 28px;font-size:14px;line-height:1.5;color:#57606a;">
<p style="margin:0 0 12px 0;">The link opens `
	htmlTail = `
<p style="margin:0;">Anyone with this link can join the conversation, so please don't forward this email. If you did not expect it, you can ignore it.</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`
)

// htmlBody is the HTML body: a greeting, who invites to what, the note, a button with the
// link, until when it works, and the link spelled out.
func htmlBody(v view) string {
	var b strings.Builder
	b.WriteString(htmlHead + esc(v.Subject) + htmlTop)
	b.WriteString(greeting(esc(v.CustomerName)) + "</p>\n")
	b.WriteString(`<p style="margin:0 0 16px 0;"><strong>` + esc(v.InviterName) + "</strong>")
	if v.CompanyName != "" {
		b.WriteString(" from " + esc(v.CompanyName))
	}
	b.WriteString(" invites you to join ")
	if v.HasTopic {
		b.WriteString("a conversation about <strong>" + esc(v.Topic) + "</strong>")
	} else {
		b.WriteString("your conversation")
	}
	b.WriteString(".</p>")
	if len(v.NoteLines) > 0 {
		b.WriteString("\n" + `<p style="margin:0 0 4px 0;color:#57606a;font-size:14px;">` + esc(v.InviterName) + " wrote:</p>\n")
		b.WriteString(`<blockquote style="margin:0 0 16px 0;padding:8px 12px;border-left:3px solid #d0d7de;color:#1f2328;">`)
		for i, line := range v.NoteLines {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(esc(line))
		}
		b.WriteString("</blockquote>")
	}
	link := esc(v.Link)
	b.WriteString(htmlButton + link + htmlButtonEnd)
	b.WriteString(esc(v.LinkHost) + " and works once, until " + esc(v.Until) + " (" + esc(v.ValidFor) + "). You don't need a PIN or password.</p>\n")
	b.WriteString(`<p style="margin:0 0 12px 0;">If the button does not work, copy this address into your browser:<br><a href="` + link +
		`" style="color:#0969da;word-break:break-all;">` + link + "</a></p>")
	b.WriteString(htmlTail)
	return b.String()
}

// textBody is the plain-text body: the same as the HTML one, with the note indented.
func textBody(v view) string {
	var b strings.Builder
	b.WriteString(greeting(v.CustomerName) + "\n\n")
	b.WriteString(v.InviterName)
	if v.CompanyName != "" {
		b.WriteString(" from " + v.CompanyName)
	}
	b.WriteString(" invites you to join ")
	if v.HasTopic {
		b.WriteString(`a conversation about "` + v.Topic + `"`)
	} else {
		b.WriteString("your conversation")
	}
	b.WriteString(".")
	if len(v.NoteLines) > 0 {
		b.WriteString("\n\n" + v.InviterName + " wrote:")
		for _, line := range v.NoteLines {
			b.WriteString("\n")
			if line != "" {
				b.WriteString("  " + line)
			}
		}
	}
	b.WriteString("\n\nJoin the conversation:\n" + v.Link + "\n\n")
	b.WriteString("The link opens " + v.LinkHost + " and works once, until " + v.Until + " (" + v.ValidFor + "). You don't need a PIN or password.\n\n")
	b.WriteString("Anyone with this link can join the conversation, so please don't forward this email. If you did not expect it, you can ignore it.\n")
	return b.String()
}

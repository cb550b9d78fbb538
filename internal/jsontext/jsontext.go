// Package jsontext writes JSON strings that are safe to show on a
// terminal: besides what JSON requires (quotes, backslashes, C0 controls),
// DEL and the C1 controls (U+0080-U+009F; U+009B is CSI) are escaped as
// \u00XX, so a key or value from a snapshot printed as JSON cannot drive
// the terminal it is shown on, and the output stays valid JSON.
package jsontext

// AppendString appends s, which must be valid UTF-8, as a JSON string.
func AppendString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		case c == 0xc2 && i+1 < len(s) && s[i+1] < 0xa0:
			// U+0080-U+009F are encoded C2 80-C2 9F.
			i++
			dst = append(dst, '\\', 'u', '0', '0', hex[s[i]>>4], hex[s[i]&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// EscapeC1 rewrites JSON that encoding/json wrote (valid UTF-8, C0 controls
// already escaped) so that C1 controls and DEL are escaped too. It works
// in place when there is nothing to escape, and returns the result.
func EscapeC1(js []byte) []byte {
	i := 0
	for i < len(js) && js[i] != 0x7f && !(js[i] == 0xc2 && i+1 < len(js) && js[i+1] < 0xa0) {
		i++
	}
	if i == len(js) {
		return js
	}
	const hex = "0123456789abcdef"
	out := append(make([]byte, 0, len(js)+16), js[:i]...)
	for ; i < len(js); i++ {
		c := js[i]
		switch {
		case c == 0x7f:
			out = append(out, '\\', 'u', '0', '0', '7', 'f')
		case c == 0xc2 && i+1 < len(js) && js[i+1] < 0xa0:
			// 0xc2 is never a continuation byte: this is U+0080-U+009F,
			// which in JSON can only be inside a string.
			i++
			out = append(out, '\\', 'u', '0', '0', hex[js[i]>>4], hex[js[i]&15])
		default:
			out = append(out, c)
		}
	}
	return out
}

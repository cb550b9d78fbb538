package diff

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/internal/jsontext"
)

// MarshalJSON adds "key", the key as text, beside "key_b64" when the key
// is valid UTF-8, as every rdbtool JSON output has it; C1 controls in it
// are escaped so that no line drives a terminal.
func (kd KeyDiff) MarshalJSON() ([]byte, error) {
	type fields KeyDiff // the same fields without this method
	var text *string
	if utf8.Valid(kd.Key) {
		s := string(kd.Key)
		text = &s
	}
	b, err := json.Marshal(struct {
		DB   int     `json:"db"`
		Text *string `json:"key,omitempty"`
		fields
	}{kd.DB, text, fields(kd)})
	return jsontext.EscapeC1(b), err
}

package jsontext_test

import (
	"fmt"

	"github.com/rdbtool/rdbtool/internal/jsontext"
)

func ExampleAppendValidString() {
	line := []byte(`{"key":`)
	line, ok := jsontext.AppendValidString(line, []byte("say \"hi\"\x1b[31m\u009b"))
	fmt.Println(string(line), ok)
	_, ok = jsontext.AppendValidString(nil, []byte("\xff not UTF-8"))
	fmt.Println(ok)
	// Output:
	// {"key":"say \"hi\"\u001b[31m\u009b" true
	// false
}

func ExampleAppendBase64() {
	fmt.Println(string(jsontext.AppendBase64([]byte("value_b64="), []byte("hello, world"))))
	// Output: value_b64=aGVsbG8sIHdvcmxk
}

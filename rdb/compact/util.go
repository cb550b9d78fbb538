package compact

import "strconv"

func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return "0x" + string([]byte{digits[c>>4], digits[c&15]})
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }
